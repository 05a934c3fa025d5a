/**
 * The runner's error types. The CLI maps them to exit codes by class, never by message text:
 * `UsageError` and `ToolMissingError` exit 2; `CancelledError` 130; anything else that escapes a command exits 1.
 */

/** A usage or configuration problem (bad flag, unreadable stack file, invalid config): exit code 2. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** The Pulumi CLI (or another tool the command needs) is missing or not set up: exit code 2, with the fix. */
export class ToolMissingError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ToolMissingError";
    }
}

/** The user stopped the command (Ctrl-C): exit code 130, nothing half-written. */
export class CancelledError extends Error {
    constructor(message = "cancelled (Ctrl-C)") {
        super(message);
        this.name = "CancelledError";
    }
}

/** Errors that are the user's to fix before anything runs (exit code 2). */
export function isUsageError(error: unknown): error is UsageError | ToolMissingError {
    return error instanceof UsageError || error instanceof ToolMissingError;
}

/**
 * A stage ran past its deadline (a program that never resolves, a policy that never returns): exit code 2, naming the
 * stack and the way out. The work it abandoned may still be running: the CLI ends the process after reporting.
 */
export class DeadlineError extends UsageError {
    constructor(message: string) {
        super(message);
        this.name = "DeadlineError";
    }
}

/**
 * The user's program misbehaved in a way that leaves nothing checked: it called `process.exit`, or failed after the
 * runner started reading it (an apply that throws). The stack failed: exit code 1, never "passed".
 */
export class ProgramError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ProgramError";
    }
}

/** Work left running past its deadline or cancelled (a program that never resolves, a rule that never returns). */
let abandoned = 0;

/** Says that work was left running (the CLI then ends the process once it has reported). */
export function markAbandoned(): void {
    abandoned++;
}

/** How many times work was left running in this process. */
export function abandonedWork(): number {
    return abandoned;
}

/**
 * A deadline: `expired` rejects with a DeadlineError carrying `message` once `ms` have passed (and marks the work left
 * running as abandoned); `stop()` ends it when the work finished in time.
 */
export function startDeadline(ms: number, message: string): { expired: Promise<never>; stop(): void } {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
            markAbandoned();
            reject(new DeadlineError(message));
        }, ms);
    });
    return { expired, stop: () => clearTimeout(timer) };
}
