/**
 * The narrow interface between the runner and Pulumi's Automation API. The runner only ever talks to a
 * StackDriver; `AutomationDriver` is the real one (LocalWorkspace and the Pulumi CLI), and the tests drive
 * the runner with a fake to prove ordering, concurrency, failure isolation, cancellation and reporting.
 */
import type { StackTarget } from "./stacks";

export type Operation = "preview" | "up" | "destroy" | "refresh" | "outputs";

export interface OperationRequest {
    operation: Operation;
    target: StackTarget;
    /** Policy packs (directories) for preview and up. */
    policyPacks: string[];
    policyPackConfigs: string[];
    /** Progress lines from the engine. */
    onOutput: (line: string) => void;
    /** Engine events: a resource step started, or finished. */
    onEvent?: (step: "started" | "done") => void;
    /** Aborted on Ctrl-C (or --fail-fast): the operation must stop and release the stack's lock. */
    signal: AbortSignal;
}

export interface OperationResult {
    /** Resource operations by kind (`create`, `update`, `delete`, `same`, ...). */
    changes: Record<string, number>;
    outputs?: Record<string, unknown>;
    /** Policy violations the engine reported (preview / up with policy packs). */
    policyViolations?: number;
}

export interface StackDriver {
    /** Resolves once the tools the operation needs are there; throws ToolMissingError otherwise. */
    prepare(operation: Operation, targets: StackTarget[]): Promise<void>;
    run(request: OperationRequest): Promise<OperationResult>;
}
