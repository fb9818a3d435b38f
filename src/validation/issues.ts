import { InputValidationError, type InputIssue } from '../errors';

/** Counts every issue but keeps only the first few, so a file with a million bad lines needs no more memory. */
export class IssueList {
  readonly first: InputIssue[] = [];
  total = 0;

  add(issue: InputIssue): void {
    this.total++;
    if (this.first.length < InputValidationError.MAX_LISTED) this.first.push(issue);
  }

  toError(file: string): InputValidationError {
    return new InputValidationError(file, this.first, this.total);
  }
}
