export interface Pausable {
  pause(): void;
  resume(): void;
}

/**
 * Lets a consumer outside the Observable pause chunk delivery, which RxJS
 * itself has no way to ask for. The stream attaches its call when it starts.
 */
export class FlowControl implements Pausable {
  private target: Pausable | undefined;
  private paused = false;

  attach(target: Pausable): void {
    this.target = target;
    if (this.paused) target.pause();
  }

  pause(): void {
    this.paused = true;
    this.target?.pause();
  }

  resume(): void {
    this.paused = false;
    this.target?.resume();
  }
}
