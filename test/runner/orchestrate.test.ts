import { strict as assert } from "assert";
import { exitCodeOf, ProgressReporter, runOperation, StackOutcome, summaryJson, summaryTable } from "../../automation/orchestrate";
import { StackTarget } from "../../automation/stacks";
import { FakeDriver } from "../support/fakeDriver";

function target(stack: string, role: StackTarget["role"] = "environment", environment = stack): StackTarget {
    return { stack, role, environment, config: {}, secrets: {}, settings: {}, tenants: [] };
}

/** dev + 3 tenants of dev, prod + 2 tenants of prod. */
function perTenantTargets(): StackTarget[] {
    return [
        target("dev"),
        target("prod"),
        ...["a", "b", "c"].map((ns) => target(`dev.${ns}`, "tenant", "dev")),
        ...["x", "y"].map((ns) => target(`prod.${ns}`, "tenant", "prod")),
    ];
}

class RecordingProgress implements ProgressReporter {
    readonly lines: string[] = [];
    started(stack: string, operation: string) {
        this.lines.push(`${stack} started ${operation}`);
    }
    output(stack: string, line: string) {
        this.lines.push(`${stack}: ${line}`);
    }
    finished(o: StackOutcome) {
        this.lines.push(`${o.stack} ${o.result}`);
    }
}

function options(overrides: Partial<Parameters<typeof runOperation>[3]> = {}) {
    return {
        concurrency: 2,
        failFast: false,
        signal: new AbortController().signal,
        policyPacks: ["/p"],
        policyPackConfigs: [],
        progress: new RecordingProgress(),
        ...overrides,
    };
}

describe("runner orchestration (fake Automation API driver)", () => {
    it("runs environment stacks before their tenants, and every stack gets an outcome", async () => {
        const driver = new FakeDriver({ latencyMs: 15 });
        const outcomes = await runOperation(driver, "up", perTenantTargets(), options({ concurrency: 3 }));
        assert.deepEqual(
            outcomes.map((o) => [o.stack, o.result]),
            perTenantTargets().map((t) => [t.stack, "succeeded"]),
        );
        const lastEnvironmentEnd = Math.max(...driver.ends.filter((e) => !e.stack.includes(".")).map((e) => e.at));
        const firstTenantStart = Math.min(...driver.starts.filter((s) => s.stack.includes(".")).map((s) => s.at));
        assert.ok(firstTenantStart >= lastEnvironmentEnd, "tenant stacks start after the environment stacks finished");
        assert.equal(exitCodeOf(outcomes), 0);
    });

    it("destroys tenants before their environment", async () => {
        const driver = new FakeDriver({ latencyMs: 10 });
        await runOperation(driver, "destroy", perTenantTargets(), options({ concurrency: 5 }));
        const lastTenantEnd = Math.max(...driver.ends.filter((e) => e.stack.includes(".")).map((e) => e.at));
        const firstEnvironmentStart = Math.min(...driver.starts.filter((s) => !s.stack.includes(".")).map((s) => s.at));
        assert.ok(firstEnvironmentStart >= lastTenantEnd);
    });

    it("never runs more than --concurrency stacks at once", async () => {
        const targets = Array.from({ length: 9 }, (_, i) => target(`env-${i}`));
        for (const concurrency of [1, 3]) {
            const driver = new FakeDriver({ latencyMs: 10 });
            await runOperation(driver, "preview", targets, options({ concurrency }));
            assert.equal(driver.maxInFlight, concurrency);
            assert.equal(driver.starts.length, 9);
        }
    });

    it("a failing stack does not stop the others; its tenants are skipped; exit code 1", async () => {
        const driver = new FakeDriver({ latencyMs: 5, failing: ["dev", "prod.y"] });
        const outcomes = await runOperation(driver, "up", perTenantTargets(), options());
        const byStack = Object.fromEntries(outcomes.map((o) => [o.stack, o]));
        assert.equal(byStack.dev.result, "failed");
        assert.match(byStack.dev.error!, /AccessDenied/);
        assert.equal(byStack.prod.result, "succeeded");
        for (const ns of ["a", "b", "c"]) {
            assert.equal(byStack[`dev.${ns}`].result, "skipped");
            assert.match(byStack[`dev.${ns}`].error!, /environment stack dev did not succeed/);
        }
        assert.equal(byStack["prod.x"].result, "succeeded");
        assert.equal(byStack["prod.y"].result, "failed");
        assert.equal(exitCodeOf(outcomes), 1);
        assert.ok(!driver.starts.some((s) => s.stack.startsWith("dev.")), "no tenant of a failed environment was run");
    });

    it("--fail-fast cancels the running stacks and does not start the rest", async () => {
        const targets = Array.from({ length: 6 }, (_, i) => target(`env-${i}`));
        const driver = new FakeDriver({ latencyMs: 200, failing: ["env-0"], latencies: { "env-0": 5 } });
        const outcomes = await runOperation(driver, "up", targets, options({ concurrency: 2, failFast: true }));
        assert.equal(outcomes[0].result, "failed");
        assert.equal(outcomes[1].result, "cancelled", "the stack running beside it was cancelled");
        assert.ok(outcomes.slice(2).every((o) => o.result === "cancelled" && /--fail-fast/.test(o.error!)));
        assert.equal(driver.starts.length, 2);
        assert.equal(driver.locks.size, 0);
    });

    it("Ctrl-C cancels running updates, starts nothing new, and leaves no stack locked", async () => {
        const controller = new AbortController();
        const driver = new FakeDriver({ latencyMs: 300 });
        const targets = Array.from({ length: 5 }, (_, i) => target(`env-${i}`));
        setTimeout(() => controller.abort(), 50);
        const outcomes = await runOperation(driver, "up", targets, options({ concurrency: 2, signal: controller.signal }));
        assert.deepEqual(
            outcomes.map((o) => o.result),
            ["cancelled", "cancelled", "cancelled", "cancelled", "cancelled"],
        );
        assert.equal(driver.starts.length, 2, "only the two running stacks had started");
        assert.ok(
            driver.ends.every((e) => e.aborted),
            "the running updates saw the abort",
        );
        assert.equal(driver.locks.size, 0, "no lock left behind");
        assert.match(outcomes[4].error!, /Ctrl-C/);
    });

    it("a failed tenant destroy keeps its environment stack", async () => {
        const driver = new FakeDriver({ latencyMs: 5, failing: ["dev.b"] });
        const outcomes = await runOperation(driver, "destroy", perTenantTargets(), options());
        const dev = outcomes.find((o) => o.stack === "dev")!;
        assert.equal(dev.result, "skipped");
        assert.match(dev.error!, /tenant stacks dev.b were not destroyed/);
        assert.equal(outcomes.find((o) => o.stack === "prod")!.result, "succeeded");
    });

    it("reports progress per stack, a summary table and a JSON summary", async () => {
        const progress = new RecordingProgress();
        const driver = new FakeDriver({ latencyMs: 5, failing: ["prod"] });
        const outcomes = await runOperation(driver, "up", [target("dev"), target("prod")], options({ progress }));
        assert.ok(progress.lines.includes("dev started up"));
        assert.ok(progress.lines.includes("dev: + aws:iam:Role dev-role creating"));
        assert.ok(progress.lines.includes("prod failed"));
        const table = summaryTable(outcomes);
        assert.match(table, /^STACK\s+OPERATION\s+RESULT\s+CHANGES\s+DURATION$/m);
        assert.match(table, /^dev\s+up\s+succeeded\s+create 4\s+\d+ ms$/m);
        assert.match(table, /1 succeeded, 1 failed, 0 cancelled, 0 skipped/);
        assert.match(table, /prod: prod: AccessDenied/);
        const json: any = summaryJson("up", outcomes);
        assert.deepEqual(json.summary, { succeeded: 1, failed: 1, cancelled: 0, skipped: 0 });
        assert.deepEqual(Object.keys(json.stacks[0]).sort(), ["changes", "durationMs", "operation", "outputs", "result", "stack"].sort());
    });

    it("passes policy packs to preview and up only", async () => {
        const seen: Record<string, string[]> = {};
        const driver = {
            prepare: async () => undefined,
            run: async (request: any) => {
                seen[request.operation] = request.policyPacks;
                return { changes: {} };
            },
        };
        for (const op of ["preview", "up", "refresh", "destroy"] as const) {
            await runOperation(driver, op, [target("dev")], options());
        }
        assert.deepEqual(seen, { preview: ["/p"], up: ["/p"], refresh: [], destroy: [] });
    });
});
