/**
 * A fake StackDriver: fixed latency, chosen failures, and a per-stack lock held while an operation runs,
 * so tests can see ordering, concurrency, cancellation and whether anything was left locked.
 */
import { Operation, OperationRequest, OperationResult, StackDriver } from "../../automation/driver";
import type { StackTarget } from "../../automation/stacks";

export interface FakeDriverOptions {
    latencyMs?: number;
    /** Stacks whose operation fails. */
    failing?: string[];
    /** Per-stack latency overrides. */
    latencies?: Record<string, number>;
}

export class FakeDriver implements StackDriver {
    readonly starts: { stack: string; at: number }[] = [];
    readonly ends: { stack: string; at: number; aborted: boolean }[] = [];
    readonly locks = new Set<string>();
    inFlight = 0;
    maxInFlight = 0;
    prepared: Operation[] = [];
    /** Every operation run, in order, as `OPERATION STACK`. */
    readonly runs: string[] = [];

    constructor(private readonly options: FakeDriverOptions = {}) {}

    async prepare(operation: Operation, _targets: StackTarget[]): Promise<void> {
        this.prepared.push(operation);
    }

    async run(request: OperationRequest): Promise<OperationResult> {
        const stack = request.target.stack;
        this.runs.push(`${request.operation} ${stack}`);
        if (this.locks.has(stack)) throw new Error(`stack ${stack} is locked by another update`);
        this.locks.add(stack);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        this.starts.push({ stack, at: Date.now() });
        request.onOutput(`+ aws:iam:Role ${stack}-role creating`);
        // Engine events, as the Automation API reports them: two steps started, one done before the wait.
        request.onEvent?.("started");
        request.onEvent?.("started");
        request.onEvent?.("done");
        const latency = this.options.latencies?.[stack] ?? this.options.latencyMs ?? 10;
        try {
            await new Promise<void>((resolve, reject) => {
                const timer = setTimeout(resolve, latency);
                const abort = () => {
                    clearTimeout(timer);
                    reject(new Error("update canceled"));
                };
                if (request.signal.aborted) abort();
                request.signal.addEventListener("abort", abort, { once: true });
            });
            if (this.options.failing?.includes(stack)) throw new Error(`${stack}: AccessDenied: not authorized to perform iam:CreateRole`);
            return { changes: { create: 4 }, outputs: request.operation === "outputs" ? { roleArn: `arn:aws:iam::1:role/${stack}` } : undefined };
        } finally {
            // Like the CLI on SIGINT: the update stops and its lock is released before run() settles.
            this.locks.delete(stack);
            this.inFlight--;
            this.ends.push({ stack, at: Date.now(), aborted: request.signal.aborted });
        }
    }
}
