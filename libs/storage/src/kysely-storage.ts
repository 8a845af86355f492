import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DbErrorContext } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import { KyselyDeadLetterRepository } from './kysely-dead-letter-repository.js';
import { KyselyJobRepository } from './kysely-job-repository.js';
import { KyselyJobResultRepository } from './kysely-job-result-repository.js';
import { KyselyRunnerRepository } from './kysely-runner-repository.js';
import { KyselyScheduleRepository } from './kysely-schedule-repository.js';
import { KyselySwitchRepository } from './kysely-switch-repository.js';
import type { SecretsKeys } from './kysely-worker-repository.js';
import { KyselyWorkerRepository } from './kysely-worker-repository.js';
import type { MigrationDialect } from './migrator.js';
import { migrate } from './migrator.js';
import type { Storage, StorageCapabilities } from './ports.js';
import type { Database } from './schema.js';

export interface KyselyStorageOptions {
  readonly capabilities: StorageCapabilities;
  readonly errors: DbErrorContext;
  readonly migrations: MigrationDialect;
  /** SECRETS_KEY (and previous keys): workers' runner settings are stored encrypted */
  readonly secrets?: SecretsKeys | undefined;
}

/** The Storage port over a kysely instance; the repositories are the same code for every backend. */
export class KyselyStorage implements Storage {
  readonly runners: KyselyRunnerRepository;
  readonly workers: KyselyWorkerRepository;
  readonly jobs: KyselyJobRepository;
  readonly results: KyselyJobResultRepository;
  readonly schedules: KyselyScheduleRepository;
  readonly deadLetters: KyselyDeadLetterRepository;
  readonly switches: KyselySwitchRepository;
  readonly capabilities: StorageCapabilities;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: KyselyStorageOptions,
  ) {
    this.runners = new KyselyRunnerRepository(db, options.errors);
    this.workers = new KyselyWorkerRepository(db, options.errors, options.secrets);
    this.jobs = new KyselyJobRepository(db, options.errors);
    this.results = new KyselyJobResultRepository(db, options.errors);
    this.schedules = new KyselyScheduleRepository(db, options.errors);
    this.deadLetters = new KyselyDeadLetterRepository(db, options.errors);
    this.switches = new KyselySwitchRepository(db, options.errors);
    this.capabilities = options.capabilities;
  }

  migrate(): Promise<void> {
    return withDbErrors(this.options.errors, () => migrate(this.db, this.options.migrations));
  }

  async ping(): Promise<void> {
    await withDbErrors(this.options.errors, () => sql`select 1`.execute(this.db));
  }

  /** Closes the connections; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.db.destroy();
    return this.closing;
  }
}
