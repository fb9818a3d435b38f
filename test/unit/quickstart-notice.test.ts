/** What `npm start` prints about the Web UI once the batch is done: a live link only while the server stays up. */
import { DEFAULT_DEV_UI_URL, webUiNotice } from '../../src/cli/quickstart';

const base = { address: '127.0.0.1:7233', workflowId: 'ab_0mx57bll85761aa1b16873ddc' };
const page = '/namespaces/default/workflows/ab_0mx57bll85761aa1b16873ddc';

test('on a terminal, a server started here stays up: live link and how to stop it', () => {
  const text = webUiNotice({ ...base, uiUrl: DEFAULT_DEV_UI_URL, started: true, interactive: true });
  expect(text).toBe(`Temporal Web UI: ${DEFAULT_DEV_UI_URL}${page} — Ctrl-C stops the server\n`);
});

test('off a terminal, the server stops: no live link, but how to bring the UI back', () => {
  const text = webUiNotice({ ...base, uiUrl: DEFAULT_DEV_UI_URL, started: true, interactive: false });
  expect(text).not.toContain('Temporal Web UI:');
  expect(text).toContain('Temporal stopped with this run');
  expect(text).toContain('  npx anybatch dev\n');
  expect(text).toContain(`and then open ${DEFAULT_DEV_UI_URL}${page}`);
});

test('off a terminal with a moved UI port, no guessed URL; ANYBATCH_HOME is repeated', () => {
  const text = webUiNotice({ ...base, uiUrl: 'http://127.0.0.1:41234', started: true, interactive: false, home: '/tmp/h' });
  expect(text).not.toMatch(/http:\/\//);
  expect(text).toContain('  ANYBATCH_HOME=/tmp/h npx anybatch dev\n');
  expect(text).toContain(`the Web UI address it prints, followed by ${page}`);
});

test('a reused server (started by another process) stays up: the link is live whatever the terminal', () => {
  for (const interactive of [true, false]) {
    const text = webUiNotice({ ...base, uiUrl: DEFAULT_DEV_UI_URL, started: false, interactive });
    expect(text).toBe(`Temporal Web UI: ${DEFAULT_DEV_UI_URL}${page} (this Temporal was already running and stays up)\n`);
  }
  expect(webUiNotice({ ...base, uiUrl: null, started: false, interactive: false })).not.toMatch(/http:\/\//);
});
