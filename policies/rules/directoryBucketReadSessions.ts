import { spelled } from "../lib/actions";
import { NormalizedStatement } from "../lib/documents";
import { evaluateDocument } from "../lib/evaluate";
import { exampleOf, favourable } from "../lib/trust";
import { accessLevelOf, analyseDocument } from "../lib/grants";
import { grantingDocuments } from "../lib/resources";
import { Finding, gradedResourceRule, productionLevel } from "../lib/rule";

const CREATE_SESSION = "s3express:createsession";
const SESSION_MODE = "s3express:SessionMode";

/** A concrete directory bucket a Resource pattern names (`*` and wildcards filled). */
function bucketNamedBy(pattern: string): string {
    return pattern === "*" || !pattern.startsWith("arn:") ? "arn:aws:s3express:us-west-2:111122223333:bucket/example--usw2-az1--x-s3" : exampleOf(pattern);
}

/**
 * Does the document let this statement create a ReadWrite session on the bucket the pattern names? Asked of the
 * evaluation core with every other condition key satisfied: a SessionMode condition under any operator
 * (`StringEquals` / `StringLike` `ReadOnly`, `StringNotEquals` `ReadWrite`, their IfExists forms: S3 always sends the
 * mode) or a Deny of ReadWrite sessions in the same document stops it.
 */
function readWriteAllowed(document: unknown, statement: NormalizedStatement, pattern: string): boolean {
    const context = { ...favourable(statement, new Set([SESSION_MODE.toLowerCase()])), [SESSION_MODE]: "ReadWrite" };
    const evaluation = evaluateDocument(document, "identity", { action: "s3express:CreateSession", resource: bucketNamedBy(pattern), context });
    return evaluation.decision === "Allow" && evaluation.allowedBy.some((s) => s.label === statement.label);
}

/** The words of a Sid (`DatasetReadOnly` -> dataset, read, only; `MultiThreadedStaging` has no "read"). */
function sidWords(sid: string): string[] {
    return sid
        .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
        .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
        .split(/[^A-Za-z]+|(?<=[a-zA-Z])(?=\d)/)
        .filter(Boolean)
        .map((w) => w.toLowerCase());
}

/** Why the statement reads as meant for reading only, or undefined: its other actions only read, or its Sid says so. */
async function readOnlyIntent(
    statement: NormalizedStatement,
    granted: Map<string, string[]>,
    s3Granted: Map<string, string[]> | undefined,
): Promise<string | undefined> {
    const others = [...(s3Granted?.keys() ?? []), ...[...granted.keys()].filter((a) => a !== CREATE_SESSION)];
    if (others.length > 0) {
        const levelsGranted = await Promise.all(others.map(accessLevelOf));
        if (levelsGranted.every((level) => level === "Read" || level === "List"))
            return `its other actions (${others.slice(0, 4).map(spelled).join(", ")}${others.length > 4 ? ", ..." : ""}) only read`;
        return undefined;
    }
    const sid = typeof statement.raw.Sid === "string" ? statement.raw.Sid : "";
    const words = sidWords(sid);
    const reads = words.some((w) => ["read", "reads", "reader", "reading", "readonly", "ro"].includes(w));
    const writes = words.some((w) => ["write", "writes", "writer", "writing", "readwrite", "rw", "put", "delete"].includes(w));
    if (reads && !writes) return `its Sid "${sid}" says it reads`;
    return undefined;
}

/**
 * Checks that a statement meant for reading (its other actions only read or list, or its Sid says it reads) that also
 * lets its principal create S3 Express One Zone sessions limits them to `s3express:SessionMode` `ReadOnly`: a session
 * created without that limit can write, overwrite and delete every object of the directory bucket. A policy that
 * reads general-purpose buckets in one statement and creates sessions in another (checkpoints written to a directory
 * bucket) says nothing about the sessions, and is not judged.
 */
export const directoryBucketReadSessions = gradedResourceRule({
    name: "directory-bucket-read-sessions",
    description:
        "Checks that a read-only statement (its other actions only read or list, or its Sid says it reads) that allows " +
        "s3express:CreateSession limits the sessions to s3express:SessionMode ReadOnly: without it the workload can write and delete in the directory bucket.",
    check: async (resource, context) => {
        const findings: Finding[] = [];
        for (const carried of grantingDocuments(resource).filter((d) => d.kind === "identity")) {
            const analysis = await analyseDocument(carried.document, carried.kind);
            for (const { statement, granted } of analysis.s3express) {
                const on = granted.get(CREATE_SESSION);
                if (on === undefined) continue;
                const open = on.filter((pattern) => readWriteAllowed(carried.document, statement, pattern));
                if (open.length === 0) continue;
                const intent = await readOnlyIntent(statement, granted, analysis.s3.find((g) => g.statement === statement)?.granted);
                if (intent === undefined) continue;
                findings.push({
                    level: productionLevel(context),
                    message:
                        `${resource.type} "${resource.name}" ${carried.where} statement ${statement.label}: allows s3express:CreateSession on ${JSON.stringify(open)} ` +
                        `without limiting s3express:SessionMode to ReadOnly, although ${intent}. A ReadWrite session can write and delete every object ` +
                        `of the directory bucket: add Condition { "StringEquals": { "s3express:SessionMode": "ReadOnly" } } (RayS3Access does for access "read"), ` +
                        `or put CreateSession in a statement of its own if the workload writes there.`,
                });
            }
        }
        return findings;
    },
});
