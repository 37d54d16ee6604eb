// job.c: the generic job state machine every block job runs on, with QEMU's verb table
// and its JOB_STATUS_CHANGE event on every transition.
import { QmpError, msg } from './errors.js';
import type { JobStatus } from './types.js';

export type JobVerb = 'cancel' | 'pause' | 'resume' | 'set-speed' | 'complete' | 'finalize' | 'dismiss';

// JobVerbTable (QEMU 7.2):   U  C  R  P  Y  S  W  D  X  E  N
const STATES: JobStatus[] = ['undefined', 'created', 'running', 'paused', 'ready', 'standby', 'waiting', 'pending', 'aborting', 'concluded', 'null'];
const VERBS: Record<JobVerb, number[]> = {
  cancel: [0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
  pause: [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  resume: [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  'set-speed': [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  complete: [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
  finalize: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
  dismiss: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
};

// JobSTT: which transitions are legal (a programming error otherwise)
const TRANSITIONS: Record<JobStatus, JobStatus[]> = {
  undefined: ['created'],
  created: ['running', 'aborting', 'null'],
  running: ['paused', 'ready', 'waiting', 'aborting'],
  paused: ['running'],
  ready: ['standby', 'waiting', 'aborting'],
  standby: ['ready'],
  waiting: ['pending', 'aborting'],
  pending: ['concluded', 'aborting'],
  aborting: ['concluded'],
  concluded: ['null'],
  null: [],
};

export class Job {
  readonly id: string;
  private state: JobStatus = 'undefined';
  protected readonly notify: (status: JobStatus) => void;

  constructor(id: string, onStatus: (id: string, status: JobStatus) => void) {
    this.id = id;
    this.notify = (status) => onStatus(id, status);
  }

  get status(): JobStatus {
    return this.state;
  }

  /** job_state_transition: emits JOB_STATUS_CHANGE */
  protected transition(to: JobStatus): void {
    if (!TRANSITIONS[this.state].includes(to)) throw new Error(`job ${this.id}: illegal transition ${this.state} -> ${to}`);
    this.state = to;
    this.notify(to);
  }

  /** job_apply_verb: "Job '<id>' in state '<s>' cannot accept command verb '<v>'" */
  applyVerb(verb: JobVerb): void {
    if (VERBS[verb][STATES.indexOf(this.state)] !== 1) throw new QmpError(msg.verb(this.id, this.state, verb));
  }
}
