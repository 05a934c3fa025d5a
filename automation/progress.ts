/**
 * Live progress: on a terminal, one line per stack, redrawn in place; in CI (or any non-TTY), plain
 * prefixed lines. `--json` sends progress to stderr so stdout stays machine-readable.
 */
import { Operation } from "./driver";
import { ProgressReporter, StackOutcome } from "./orchestrate";

/** Last meaningful line of engine output (Pulumi prints resource steps one per line). */
function lastLine(text: string): string | undefined {
    const lines = text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.length > 0);
    return lines[lines.length - 1];
}

export class PlainProgress implements ProgressReporter {
    constructor(private readonly write: (line: string) => void) {}
    started(stack: string, operation: Operation): void {
        this.write(`[${stack}] ${operation} started`);
    }
    output(stack: string, text: string): void {
        for (const line of text.split("\n")) {
            if (line.trim()) this.write(`[${stack}] ${line.trimEnd()}`);
        }
    }
    finished(outcome: StackOutcome): void {
        this.write(`[${outcome.stack}] ${outcome.operation} ${outcome.result}${outcome.error ? `: ${outcome.error}` : ""}`);
    }
}

export class TerminalProgress implements ProgressReporter {
    private readonly order: string[] = [];
    private readonly status = new Map<string, string>();
    private drawn = 0;

    constructor(
        private readonly stream: NodeJS.WriteStream,
        private readonly width = stream.columns || 100,
    ) {}

    private set(stack: string, text: string): void {
        if (!this.status.has(stack)) this.order.push(stack);
        this.status.set(stack, text);
        this.redraw();
    }

    private redraw(): void {
        let out = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
        for (const stack of this.order) {
            out += `\x1b[2K${`${stack.padEnd(24)} ${this.status.get(stack)}`.slice(0, this.width - 1)}\n`;
        }
        this.drawn = this.order.length;
        this.stream.write(out);
    }

    started(stack: string, operation: Operation): void {
        this.set(stack, `${operation}: running`);
    }
    output(stack: string, text: string): void {
        const line = lastLine(text);
        if (line) this.set(stack, `running: ${line}`);
    }
    finished(outcome: StackOutcome): void {
        this.set(outcome.stack, `${outcome.result}${outcome.error ? `: ${outcome.error.split("\n")[0]}` : ""}`);
    }
}

/** The reporter for this process: redrawn lines on a terminal, plain lines otherwise. */
export function progressFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): ProgressReporter {
    return stream.isTTY && !env.CI ? new TerminalProgress(stream) : new PlainProgress((line) => stream.write(`${line}\n`));
}
