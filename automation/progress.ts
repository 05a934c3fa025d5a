/**
 * Progress and colour. On a terminal: `preview` / `up` / `refresh` / `destroy` show a live line per stack (its engine
 * events: resource steps done of those started, and its last output), and long `render` / `check` a bar of stacks and
 * tenants evaluated with the elapsed time (cli-progress draws them). Not on a terminal: one line per stack as it
 * starts and ends, on stderr, so piped stdout carries only the results; with --json, nothing. Colour follows
 * NO_COLOR / FORCE_COLOR and the terminal (picocolors).
 */
import type { MultiBar, SingleBar } from "cli-progress";
import type { Colors } from "picocolors/types";
import { Operation } from "./driver";
import { ProgressReporter, StackOutcome } from "./orchestrate";

/** The streams a command writes to. */
export interface Terminal {
    stdout: { isTTY?: boolean; columns?: number; write(text: string): unknown };
    stderr: { isTTY?: boolean; columns?: number; write(text: string): unknown };
}

/**
 * Should `stream` get colour? FORCE_COLOR (not "0" or "false") says yes, NO_COLOR (any value) says no, else a terminal
 * that is not `dumb` (the conventions of no-color.org and of Node.js's own `hasColors`).
 */
export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
    if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false") return true;
    if (env.NO_COLOR !== undefined) return false;
    return stream.isTTY === true && env.TERM !== "dumb";
}

/** picocolors for one stream (its functions return the text unchanged when colour is off). */
export function coloursFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pc = require("picocolors") as typeof import("picocolors");
    return pc.createColors(colourEnabled(stream, env));
}

/** Live progress only for a person at a terminal: stdout and stderr are terminals, no --json, not CI. */
export function isInteractive(terminal: Terminal, json: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
    return !json && terminal.stdout.isTTY === true && terminal.stderr.isTTY === true && !env.CI;
}

/** Last meaningful line of engine output (Pulumi prints resource steps one per line). */
function lastLine(text: string): string | undefined {
    const lines = text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.length > 0);
    return lines[lines.length - 1];
}

/** Not a terminal: a line per stack as it starts and ends, on stderr. */
export class PlainProgress implements ProgressReporter {
    constructor(private readonly write: (line: string) => void) {}
    started(stack: string, operation: Operation): void {
        this.write(`[${stack}] ${operation} started`);
    }
    output(): void {}
    finished(outcome: StackOutcome): void {
        this.write(`[${outcome.stack}] ${outcome.operation} ${outcome.result}${outcome.error ? `: ${outcome.error.split("\n")[0]}` : ""}`);
    }
}

/** --json: nothing but the document. */
export class SilentProgress implements ProgressReporter {
    started(): void {}
    output(): void {}
    finished(): void {}
}

/** A terminal: one live line per stack, redrawn by cli-progress. */
export class TerminalProgress implements ProgressReporter {
    private readonly bars = new Map<string, SingleBar>();
    private readonly multi: MultiBar;
    private readonly colours: Colors;

    constructor(stream: Terminal["stderr"], env: NodeJS.ProcessEnv = process.env) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { MultiBar, Presets } = require("cli-progress") as typeof import("cli-progress");
        this.colours = coloursFor(stream, env);
        this.multi = new MultiBar(
            {
                stream: stream as NodeJS.WriteStream,
                format: `{stack} {bar} {value}/{total} resources | {status}`,
                barsize: 20,
                hideCursor: true,
                clearOnComplete: false,
                stopOnComplete: false,
                autopadding: true,
                forceRedraw: true,
            },
            Presets.shades_classic,
        );
    }

    private bar(stack: string): SingleBar {
        let bar = this.bars.get(stack);
        if (!bar) {
            bar = this.multi.create(0, 0, { stack: stack.padEnd(24), status: "" });
            this.bars.set(stack, bar);
        }
        return bar;
    }

    started(stack: string, operation: Operation): void {
        this.bar(stack).update(0, { status: this.colours.cyan(`${operation}: running`) });
    }
    output(stack: string, text: string): void {
        const line = lastLine(text);
        if (line) this.bar(stack).update({ status: line.slice(0, 60) });
    }
    /** An engine event: a resource step started (total grows) or finished (done grows). */
    event(stack: string, step: "started" | "done"): void {
        const bar = this.bar(stack);
        if (step === "started") bar.setTotal(bar.getTotal() + 1);
        else bar.increment();
    }
    finished(outcome: StackOutcome): void {
        const c = this.colours;
        const colour = outcome.result === "succeeded" ? c.green : outcome.result === "failed" ? c.red : c.yellow;
        const bar = this.bar(outcome.stack);
        bar.update(bar.getTotal(), { status: colour(`${outcome.result}${outcome.error ? `: ${outcome.error.split("\n")[0].slice(0, 60)}` : ""}`) });
    }
    /** Stops redrawing (the summary table follows). */
    stop(): void {
        this.multi.stop();
    }
}

/** The reporter for a deploy command. */
export function progressFor(terminal: Terminal, json: boolean, env: NodeJS.ProcessEnv = process.env): ProgressReporter {
    if (json) return new SilentProgress();
    if (isInteractive(terminal, json, env)) return new TerminalProgress(terminal.stderr, env);
    return new PlainProgress((line) => terminal.stderr.write(`${line}\n`));
}

/** `render` / `check` on a terminal: a bar of stacks evaluated, with the tenants registered and the time so far. */
export class EvaluationProgress {
    private readonly bar?: SingleBar;
    private tenants = 0;
    private stacksDone = 0;

    constructor(terminal: Terminal, json: boolean, stacks: number, env: NodeJS.ProcessEnv = process.env) {
        if (!isInteractive(terminal, json, env)) return;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { SingleBar, Presets } = require("cli-progress") as typeof import("cli-progress");
        this.bar = new SingleBar(
            {
                stream: terminal.stderr as NodeJS.WriteStream,
                format: "evaluating {bar} {value}/{total} stacks | {tenants} tenants | {duration_formatted} | {stack}",
                barsize: 20,
                hideCursor: true,
                clearOnComplete: true,
                forceRedraw: true,
            },
            Presets.shades_classic,
        );
        this.bar.start(stacks, 0, { tenants: 0, stack: "" });
    }

    /** A stack's evaluation started. */
    stack(name: string): void {
        this.bar?.update(this.stacksDone, { stack: name });
    }
    /** A RayS3Access (a tenant, or a shared role) registered. */
    tenant(): void {
        this.tenants++;
        this.bar?.update(this.stacksDone, { tenants: this.tenants });
    }
    /** A stack's evaluation ended. */
    stackDone(): void {
        this.stacksDone++;
        this.bar?.update(this.stacksDone, { tenants: this.tenants });
    }
    /** Clears the bar before the results are printed. */
    stop(): void {
        this.bar?.stop();
    }
}
