import { patternCovers } from "../lib/arnPatterns";
import { NormalizedStatement, conditionsOn } from "../lib/documents";
import { accessLevelOf, analyseDocument } from "../lib/grants";
import { permissionDocuments } from "../lib/resources";
import { Finding, gradedResourceRule, productionLevel } from "../lib/rule";

const CREATE_SESSION = "s3express:createsession";
const SESSION_MODE = "s3express:SessionMode";

/**
 * Does this statement's condition leave only `ReadOnly` sessions? `StringEquals` (or `StringEqualsIgnoreCase`, or
 * `StringLike` without wildcards) to `ReadOnly` alone, or `StringNotEquals` to `ReadWrite`. `...IfExists` counts too:
 * S3 always evaluates a CreateSession request with a session mode (ReadWrite first when none is asked for).
 */
function readOnlyCondition(statement: NormalizedStatement): boolean {
    return conditionsOn(statement, SESSION_MODE).some(({ operator, values }) => {
        const op = operator.toLowerCase().replace(/ifexists$/, "");
        if (op === "stringequals" || op === "stringlike") return values.length > 0 && values.every((v) => v === "ReadOnly");
        if (op === "stringequalsignorecase") return values.length > 0 && values.every((v) => v.toLowerCase() === "readonly");
        if (op === "stringnotequals") return values.includes("ReadWrite");
        if (op === "stringnotequalsignorecase") return values.some((v) => v.toLowerCase() === "readwrite");
        return false;
    });
}

/**
 * Does a Deny of the same document take `ReadWrite` sessions away on `pattern`? One whose only condition is on the
 * session mode: `StringEquals` `ReadWrite`, or `StringNotEquals` `ReadOnly`.
 */
function readWriteDenied(denies: NormalizedStatement[], pattern: string): boolean {
    return denies.some((deny) => {
        if (deny.actions === undefined || !deny.actions.some((a) => /^s3express:(\*|create\*|createsession)$/i.test(a))) return false;
        if (deny.resources === undefined || !deny.resources.some((d) => patternCovers(d, pattern))) return false;
        if (deny.conditions.length !== 1) return false;
        const [{ operator, key, values }] = deny.conditions;
        const op = operator.toLowerCase();
        return (
            key.toLowerCase() === SESSION_MODE.toLowerCase() &&
            ((op === "stringequals" && values.includes("ReadWrite")) || (op === "stringnotequals" && values.includes("ReadOnly")))
        );
    });
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
            return `its other actions (${others.slice(0, 4).join(", ")}${others.length > 4 ? ", ..." : ""}) only read`;
        return undefined;
    }
    const sid = typeof statement.raw.Sid === "string" ? statement.raw.Sid : "";
    if (/read/i.test(sid) && !/write/i.test(sid)) return `its Sid "${sid}" says it reads`;
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
        for (const carried of permissionDocuments(resource).filter((d) => d.kind === "identity")) {
            const analysis = await analyseDocument(carried.document, carried.kind);
            const denies = analysis.statements.filter((s) => s.problems.length === 0 && s.effect.toLowerCase() === "deny");
            for (const { statement, granted } of analysis.s3express) {
                const on = granted.get(CREATE_SESSION);
                if (on === undefined || readOnlyCondition(statement)) continue;
                const open = on.filter((pattern) => !readWriteDenied(denies, pattern));
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
