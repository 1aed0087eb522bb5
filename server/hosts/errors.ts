/** Every problem found in a host folder; each message is "file: path: reason". */
export class HostFileError extends Error {
  readonly messages: string[];
  constructor(messages: string[], options?: ErrorOptions) {
    super(messages.join("\n"), options);
    this.name = "HostFileError";
    this.messages = messages;
  }
}
