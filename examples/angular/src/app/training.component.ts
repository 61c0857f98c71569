import { ChangeDetectionStrategy, Component, computed, inject, signal, type Signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { of, Subject, switchMap, type Observable } from 'rxjs';
import { SnakepitService } from './snakepit.service';
import { IDLE, train, type TrainingView } from './training';

/** Starts the guide's training, shows it live, and can cancel it: Cancel unsubscribes, which closes the Python generator. */
@Component({
  selector: 'app-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Training with progress</h1>
    <p>The guide's <code>train_with_progress</code>, run by a Python worker and streamed to this page by <code>createHttpHandler</code>.</p>
    <p>
      <label>Epochs <input id="epochs" type="number" min="1" max="1000" [value]="epochs()" (input)="setEpochs($event)" /></label>
      <button id="train" type="button" (click)="start()" [disabled]="view().running">Train</button>
      <button id="cancel" type="button" (click)="cancel()" [disabled]="!view().running">Cancel</button>
    </p>
    <progress id="bar" max="100" [value]="percent()"></progress>
    <p id="percent">{{ percent() }} %{{ eta() }}</p>
    <ol id="epoch-lines">
      @for (line of view().epochs; track line.epoch) {
        <li>Epoch {{ line.epoch }}: loss {{ line.loss }}, accuracy {{ line.accuracy }}</li>
      }
    </ol>
    @if (view().modelId; as model) {
      <p id="done">Done: {{ model }}</p>
    }
    @if (cancelled()) {
      <p id="cancelled">Cancelled</p>
    }
    @if (view().error; as error) {
      <p id="error" class="error" role="alert">{{ error.pythonType ?? error.code }}: {{ error.message }}</p>
    }
  `,
})
export class TrainingComponent {
  private readonly snakepit = inject(SnakepitService);
  private readonly runs = new Subject<number | 'cancel'>();
  protected readonly epochs = signal(10);
  protected readonly cancelled = signal(false);
  /** The current run; switchMap unsubscribes from the previous one, so a new run or Cancel stops it in Python. */
  protected readonly view: Signal<TrainingView> = toSignal(
    this.runs.pipe(
      switchMap((run): Observable<TrainingView> => (run === 'cancel' ? of({ ...this.view(), running: false }) : train(this.snakepit, run))),
    ),
    { initialValue: IDLE },
  );
  protected readonly percent = computed(() => Math.round(this.view().progress?.percent ?? 0));
  protected readonly eta = computed(() => {
    const eta = this.view().progress?.etaMs;
    return this.view().running && eta !== undefined ? ` · about ${Math.ceil(eta / 1000)} s left` : '';
  });

  protected setEpochs(event: Event): void {
    const value = Number((event.target as HTMLInputElement).value);
    if (Number.isInteger(value) && value > 0) this.epochs.set(value);
  }

  protected start(): void {
    this.cancelled.set(false);
    this.runs.next(this.epochs());
  }

  protected cancel(): void {
    this.cancelled.set(true);
    this.runs.next('cancel');
  }
}
