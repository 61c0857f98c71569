import { provideZonelessChangeDetection } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { TrainingComponent } from './app/training.component';

bootstrapApplication(TrainingComponent, { providers: [provideZonelessChangeDetection()] }).catch((error: unknown) => console.error(error));
