/**
 * Runs one operation over many stacks: environment stacks before their tenant stacks (tenants first for
 * destroy), at most `concurrency` at once, each stack's failure isolated unless --fail-fast, Ctrl-C passed
 * to every running update so it stops and releases its lock, and an outcome for every stack.
 */
import { Operation, OperationResult, StackDriver } from "./driver";
import { pooled } from "./pool";
import type { StackTarget } from "./stacks";

export type StackResult = "succeeded" | "failed" | "cancelled" | "skipped";

export interface StackOutcome {
    stack: string;
    operation: Operation;
    result: StackResult;
    changes: Record<string, number>;
    durationMs: number;
    error?: string;
    outputs?: Record<string, unknown>;
}

export interface ProgressReporter {
    started(stack: string, operation: Operation): void;
    output(stack: string, line: string): void;
    finished(outcome: StackOutcome): void;
    /** An engine event of the stack: a resource step started or finished. */
    event?(stack: string, step: "started" | "done"): void;
    /** Every stack has finished: stop drawing. */
    stop?(): void;
}

export interface RunOptions {
    concurrency: number;
    failFast: boolean;
    /** Aborted on Ctrl-C. */
    signal: AbortSignal;
    policyPacks: string[];
    policyPackConfigs: string[];
    progress: ProgressReporter;
    now?: () => number;
}

/** Groups targets into phases that run one after the other. */
function phases(operation: Operation, targets: StackTarget[]): StackTarget[][] {
    const environments = targets.filter((t) => t.role === "environment");
    const tenants = targets.filter((t) => t.role === "tenant");
    const ordered = operation === "destroy" ? [tenants, environments] : [environments, tenants];
    return ordered.filter((phase) => phase.length > 0);
}

/** Runs `operation` on every target and returns one outcome per target, in the targets' order. */
export async function runOperation(driver: StackDriver, operation: Operation, targets: StackTarget[], options: RunOptions): Promise<StackOutcome[]> {
    const now = options.now ?? Date.now;
    const concurrency = Math.max(1, Math.floor(options.concurrency));
    const outcomes = new Map<string, StackOutcome>();
    // Aborts on Ctrl-C, and on the first failure with --fail-fast.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    if (options.signal.aborted) stop.abort();
    options.signal.addEventListener("abort", onAbort, { once: true });

    const record = (outcome: StackOutcome) => {
        outcomes.set(outcome.stack, outcome);
        options.progress.finished(outcome);
    };
    const notRun = (target: StackTarget, result: StackResult, error: string) =>
        record({ stack: target.stack, operation, result, changes: {}, durationMs: 0, error });

    const runOne = async (target: StackTarget): Promise<void> => {
        const blockedBy = blockers(target);
        if (blockedBy) {
            notRun(target, "skipped", blockedBy);
            return;
        }
        if (stop.signal.aborted) {
            notRun(target, "cancelled", options.signal.aborted ? "cancelled before it started (Ctrl-C)" : "cancelled before it started (--fail-fast)");
            return;
        }
        const started = now();
        options.progress.started(target.stack, operation);
        try {
            const result: OperationResult = await driver.run({
                operation,
                target,
                policyPacks: operation === "preview" || operation === "up" ? options.policyPacks : [],
                policyPackConfigs: operation === "preview" || operation === "up" ? options.policyPackConfigs : [],
                onOutput: (line) => options.progress.output(target.stack, line),
                // Engine events only for a reporter that shows them (the CLI then writes an event log to tail).
                onEvent: options.progress.event ? (step) => options.progress.event!(target.stack, step) : undefined,
                signal: stop.signal,
            });
            record({ stack: target.stack, operation, result: "succeeded", changes: result.changes, durationMs: now() - started, outputs: result.outputs });
        } catch (error) {
            const cancelled = stop.signal.aborted;
            record({
                stack: target.stack,
                operation,
                result: cancelled ? "cancelled" : "failed",
                changes: {},
                durationMs: now() - started,
                error: (error as Error)?.message ?? String(error),
            });
            if (!cancelled && options.failFast) stop.abort();
        }
    };

    // A tenant stack waits on its environment stack (and, for destroy, the environment on its tenants).
    const blockers = (target: StackTarget): string | undefined => {
        const upstream =
            operation === "destroy"
                ? target.role === "environment"
                    ? targets.filter((t) => t.role === "tenant" && t.environment === target.stack).map((t) => t.stack)
                    : []
                : target.role === "tenant"
                  ? [target.environment]
                  : [];
        const failed = upstream.filter((stack) => {
            const outcome = outcomes.get(stack);
            return outcome !== undefined && outcome.result !== "succeeded";
        });
        if (failed.length === 0) return undefined;
        return operation === "destroy"
            ? `not destroyed: its tenant stacks ${failed.join(", ")} were not destroyed`
            : `skipped: its environment stack ${failed.join(", ")} did not succeed`;
    };

    try {
        for (const phase of phases(operation, targets)) {
            await pooled(phase, concurrency, runOne);
        }
    } finally {
        options.signal.removeEventListener("abort", onAbort);
    }
    return targets.map((t) => outcomes.get(t.stack)!);
}

/** 0 when every stack succeeded, 1 otherwise. */
export function exitCodeOf(outcomes: StackOutcome[]): number {
    return outcomes.every((o) => o.result === "succeeded") ? 0 : 1;
}

function formatChanges(changes: Record<string, number>): string {
    const entries = Object.entries(changes).filter(([, n]) => n > 0);
    return entries.length === 0 ? "-" : entries.map(([kind, n]) => `${kind} ${n}`).join(", ");
}

function formatDuration(ms: number): string {
    return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The final summary table: stack, operation, result, changes, duration. */
export function summaryTable(outcomes: StackOutcome[]): string {
    const rows = [
        ["STACK", "OPERATION", "RESULT", "CHANGES", "DURATION"],
        ...outcomes.map((o) => [o.stack, o.operation, o.result, formatChanges(o.changes), formatDuration(o.durationMs)]),
    ];
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    const lines = rows.map((row) =>
        row
            .map((cell, column) => cell.padEnd(widths[column]))
            .join("  ")
            .trimEnd(),
    );
    const counts = (["succeeded", "failed", "cancelled", "skipped"] as const).map((r) => `${outcomes.filter((o) => o.result === r).length} ${r}`);
    const errors = outcomes.filter((o) => o.error).map((o) => `  ${o.stack}: ${o.error}`);
    return [...lines, "", counts.join(", "), ...(errors.length ? ["", "errors:", ...errors] : [])].join("\n");
}

/** The machine-readable summary (`--json`). */
export function summaryJson(operation: Operation, outcomes: StackOutcome[]): object {
    return {
        operation,
        stacks: outcomes,
        summary: Object.fromEntries((["succeeded", "failed", "cancelled", "skipped"] as const).map((r) => [r, outcomes.filter((o) => o.result === r).length])),
    };
}
