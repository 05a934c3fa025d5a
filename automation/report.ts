/**
 * What `check` tells CI: whether each stack was judged production and why, SARIF 2.1.0 for code scanning, and
 * GitHub Actions workflow commands so violations show on the run and the pull request.
 */
import type { EnforcementLevel, Policies, PolicyPackConfig } from "@pulumi/policy";
import { createHash } from "crypto";
import * as path from "path";
import { productionReason } from "../policies/lib/stack";
import { enforcementLevelOf, Violation } from "./evaluatePolicies";
import type { RenderedStack } from "./offline";

export interface CheckedStack {
    stack: RenderedStack;
    violations: Violation[];
}

export interface ProductionJudgement {
    production: boolean;
    reason: string;
}

function patternsOf(config: PolicyPackConfig, policy: string): string[] {
    const entry = config[policy];
    const patterns = entry && typeof entry === "object" ? (entry as { productionStacks?: unknown }).productionStacks : undefined;
    return Array.isArray(patterns) ? patterns.filter((p): p is string => typeof p === "string") : [];
}

/**
 * Whether the pack's rules judge the stack production, and why: a name token, the `environment` stack tag, or a
 * `productionStacks` pattern of some policy's config (naming the policies whose config says so, since each policy
 * reads its own).
 */
export function productionJudgement(stack: string, stackTags: Record<string, string>, policies: Policies, config: PolicyPackConfig): ProductionJudgement {
    const tags = new Map(Object.entries(stackTags));
    const built = productionReason(stack, tags);
    if (built !== undefined) return { production: true, reason: built };
    const byPolicy = policies
        .map((p) => ({ name: p.name, reason: productionReason(stack, tags, patternsOf(config, p.name)) }))
        .filter((p): p is { name: string; reason: string } => p.reason !== undefined);
    if (byPolicy.length > 0) {
        const names = byPolicy.map((p) => p.name);
        const others = policies.length - names.length;
        return {
            production: true,
            reason:
                `${byPolicy[0].reason} in the config of ${names.join(", ")}` +
                (others > 0 ? ` (${others} other polic${others === 1 ? "y" : "ies"} without that pattern judge it non-production)` : ""),
        };
    }
    return {
        production: false,
        reason: 'no "prod" or "production" token in its name, no environment=prod stack tag, no productionStacks pattern matches',
    };
}

/** A violation on one line (messages never span lines in CI logs). */
export function oneLine(violation: Violation): string {
    return `${violation.enforcementLevel}: ${violation.policy}: ${violation.message.replace(/\s*\n\s*/g, " ")} (${violation.urn})`;
}

/** GitHub's escaping of a workflow command's message and properties. */
function escapeData(text: string): string {
    return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function escapeProperty(text: string): string {
    return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** `::error title=POLICY::MESSAGE` for mandatory violations, `::warning` for advisory ones. */
export function workflowCommand(violation: Violation): string {
    const command = violation.enforcementLevel === "advisory" ? "warning" : "error";
    return `::${command} title=${escapeProperty(violation.policy)}::${escapeData(`${violation.message} (${violation.urn})`)}`;
}

function sarifLevel(level: EnforcementLevel | undefined): "error" | "warning" | "none" {
    if (level === "advisory") return "warning";
    if (level === "disabled") return "none";
    return "error";
}

/** A URI relative to `base` with forward slashes, as code scanning matches it against the repository. */
function relativeUri(file: string, base: string): string {
    const relative = path.relative(base, file);
    return (relative.startsWith("..") || path.isAbsolute(relative) ? file : relative).split(path.sep).join("/");
}

/**
 * The results as a SARIF 2.1.0 log: the pack's policies as rules (description, help from `remediationSteps`, the
 * level the config gives them), one result per violation with the resource's URN as a logical location and the
 * stack file as the physical one (relative to `base`, where CI checks the repository out).
 */
export function sarifLog(
    pack: { name: string; policies: Policies },
    results: CheckedStack[],
    config: PolicyPackConfig,
    base: string,
    tool: { name: string; version: string; informationUri?: string },
): object {
    const rules = pack.policies.map((policy) => ({
        id: policy.name,
        name: policy.name,
        shortDescription: { text: policy.description.split(/(?<=\.)\s/)[0] },
        fullDescription: { text: policy.description },
        help: { text: (policy as { remediationSteps?: string }).remediationSteps ?? policy.description },
        defaultConfiguration: { level: sarifLevel(enforcementLevelOf(policy, config)) },
        properties: { tags: ["security", "iam", "s3", pack.name] },
    }));
    const index = new Map(rules.map((rule, i) => [rule.id, i]));
    const sarifResults = results.flatMap(({ stack, violations }) =>
        violations.map((violation) => {
            const resourceName = violation.urn.split("::").pop() ?? violation.urn;
            const location: Record<string, unknown> = {
                logicalLocations: [{ fullyQualifiedName: violation.urn || `stack ${stack.stack}`, name: resourceName || stack.stack, kind: "resource" }],
            };
            if (stack.stackFile) location.physicalLocation = { artifactLocation: { uri: relativeUri(stack.stackFile, base) } };
            const ruleIndex = index.get(violation.policy);
            return {
                ruleId: violation.policy,
                ...(ruleIndex !== undefined ? { ruleIndex } : {}),
                level: sarifLevel(violation.enforcementLevel),
                message: { text: violation.message },
                locations: [location],
                partialFingerprints: {
                    "rayS3AccessViolation/v1": createHash("sha256").update(`${violation.policy}\0${violation.urn}\0${violation.message}`).digest("hex"),
                },
                properties: { stack: stack.stack, urn: violation.urn },
            };
        }),
    );
    return {
        $schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [
            {
                tool: { driver: { name: tool.name, version: tool.version, ...(tool.informationUri ? { informationUri: tool.informationUri } : {}), rules } },
                invocations: [{ executionSuccessful: true }],
                results: sarifResults,
            },
        ],
    };
}

/**
 * The results as a GitLab code quality report (the Code Climate subset GitLab reads: description, check_name,
 * fingerprint, severity, location.path and lines.begin), so merge requests show them.
 */
export function codeQualityReport(results: CheckedStack[], base: string): object[] {
    return results.flatMap(({ stack, violations }) =>
        violations.map((violation) => ({
            description: `${violation.message} (${violation.urn})`,
            check_name: violation.policy,
            fingerprint: createHash("sha256").update(`${violation.policy}\0${violation.urn}\0${violation.message}`).digest("hex"),
            severity: violation.enforcementLevel === "advisory" ? "minor" : "blocker",
            location: { path: stack.stackFile ? relativeUri(stack.stackFile, base) : "Pulumi.yaml", lines: { begin: 1 } },
        })),
    );
}
