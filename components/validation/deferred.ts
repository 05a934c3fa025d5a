/**
 * Bucket entries and policy ARNs given as Outputs (a bucket, a KMS key or a policy the same program creates).
 * Before registration they are validated through stand-ins: every other rule runs on the plain values around them,
 * and a rule that needs the real value runs again, with the same message, when it resolves (see `lateArgs`).
 */
import { BucketAccess, BucketKind, RayS3AccessArgs, SessionPolicyEntry } from "../types";
import { DIRECTORY_ACCESS_POINT_NAME, DIRECTORY_BUCKET_ARN } from "./buckets";
import { isDeferred } from "./shape";
import { DIRECTORY_BUCKET_NAME } from "../s3Policy";

/** A bucket entry whose values are all plain. */
export type PlainBucketAccess = Omit<BucketAccess, "bucket" | "kmsKeyArns" | "accessPointName" | "expressCache"> & {
    readonly bucket: string;
    readonly kmsKeyArns?: string[];
    readonly accessPointName?: string;
    readonly expressCache?: string;
};

/** The arguments with every bucket entry and policy ARN plain. */
export type PlainArgs = Omit<RayS3AccessArgs, "buckets" | "sessionPolicies" | "additionalPolicyArns"> & {
    readonly buckets: PlainBucketAccess[];
    readonly sessionPolicies?: (Omit<SessionPolicyEntry, "buckets"> & { readonly buckets: PlainBucketAccess[] })[];
    readonly additionalPolicyArns?: string[];
};

/** Which values of the arguments are Outputs (or Promises). */
export interface DeferredInputs {
    /** Some bucket entry (the role's or a session policy's) or policy ARN is an Output. */
    late: boolean;
    /** Per entry of `buckets`: is its `bucket` an Output? */
    bucketNames: boolean[];
    /** Per entry of `buckets`: is its `accessPointName` an Output? */
    accessPointNames: boolean[];
    /** Per entry of `additionalPolicyArns`: is it an Output? */
    policyArns: boolean[];
}

/** Every stand-in holds this word: messages about a stand-in name the Output instead. */
const STAND_IN = "ray-s3-access-output-";
const STAND_IN_VALUE = new RegExp(`"?(?:arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9a-z]*:[a-z]+/)?${STAND_IN}\\d+(?:--[a-z0-9-]+--xa?-s3)?"?`, "g");
/** The zone a stand-in directory bucket is put in when nothing plain says which. */
const STAND_IN_ZONE = "use1-az4";

/**
 * The arguments with each Output in a bucket entry or the policy ARNs replaced by a plain stand-in that passes the
 * rules of its field, the same stand-in for the same Output (so an Output listed twice still repeats, and a session
 * policy's entry still matches the role's). A bucket's stand-in has the kind that `kind`, `createAccessPoint` or a
 * plain `accessPointName` say; without them it is a general-purpose bucket until the name resolves.
 */
export function plainView(args: RayS3AccessArgs): { args: PlainArgs; deferred: DeferredInputs } {
    const standIns = new Map<unknown, number>();
    const standIn = (value: unknown): string => {
        if (!standIns.has(value)) standIns.set(value, standIns.size);
        return `${STAND_IN}${standIns.get(value)}`;
    };
    const plainEntry = (entry: BucketAccess): PlainBucketAccess => {
        if (entry === null || typeof entry !== "object") return entry;
        const plainAccessPoint = typeof entry.accessPointName === "string" ? DIRECTORY_ACCESS_POINT_NAME.exec(entry.accessPointName) : null;
        let bucket = entry.bucket;
        if (isDeferred(bucket)) {
            const directory = entry.kind === BucketKind.Directory || (entry.kind === undefined && (entry.createAccessPoint === true || plainAccessPoint));
            bucket = directory ? `${standIn(bucket)}--${plainAccessPoint?.[2] ?? STAND_IN_ZONE}--x-s3` : standIn(bucket);
        }
        const copy: Record<string, unknown> = { ...entry, bucket };
        if (Array.isArray(entry.kmsKeyArns)) {
            copy.kmsKeyArns = entry.kmsKeyArns.map((key) => (isDeferred(key) ? `arn:aws:kms:us-east-1:000000000000:key/${standIn(key)}` : key));
        }
        if (isDeferred(entry.accessPointName)) {
            const zone = typeof bucket === "string" ? zoneOf(bucket) : undefined;
            copy.accessPointName = `${standIn(entry.accessPointName)}--${zone ?? STAND_IN_ZONE}--xa-s3`;
        }
        if (isDeferred(entry.expressCache)) copy.expressCache = `${standIn(entry.expressCache)}--${STAND_IN_ZONE}--x-s3`;
        return copy as PlainBucketAccess;
    };
    const entries = (list: unknown): PlainBucketAccess[] => (Array.isArray(list) ? list.map(plainEntry) : (list as PlainBucketAccess[]));
    const buckets = Array.isArray(args.buckets) ? args.buckets : [];
    const policyArns = Array.isArray(args.additionalPolicyArns) ? args.additionalPolicyArns : [];
    const plain = {
        ...args,
        buckets: entries(args.buckets),
        ...(Array.isArray(args.sessionPolicies)
            ? { sessionPolicies: args.sessionPolicies.map((e) => (e && typeof e === "object" ? { ...e, buckets: entries(e.buckets) } : e)) }
            : {}),
        ...(Array.isArray(args.additionalPolicyArns)
            ? { additionalPolicyArns: policyArns.map((arn) => (isDeferred(arn) ? `arn:aws:iam::aws:policy/${standIn(arn)}` : arn)) }
            : {}),
    } as PlainArgs;
    return {
        args: plain,
        deferred: {
            late: standIns.size > 0,
            bucketNames: buckets.map((b) => isDeferred(b?.bucket)),
            accessPointNames: buckets.map((b) => isDeferred(b?.accessPointName)),
            policyArns: policyArns.map(isDeferred),
        },
    };
}

/** Is this name (a bucket's, from a resolved entry) a stand-in for an Output? */
export function isStandIn(name: string): boolean {
    return name.startsWith(STAND_IN);
}

/** A problem found through stand-ins, naming the Output instead of its stand-in. */
export function withoutStandIns(problem: string): string {
    return problem.includes(STAND_IN) ? problem.replace(STAND_IN_VALUE, "(an Output)") : problem;
}

/** The zone of a directory bucket's name or ARN, or undefined. */
function zoneOf(bucket: string): string | undefined {
    const name = DIRECTORY_BUCKET_ARN.exec(bucket)?.[4] ?? bucket;
    return DIRECTORY_BUCKET_NAME.exec(name)?.[2];
}

/** The resolved values of the fields `plainView` stands in for. */
export type ResolvedLateFields = Pick<PlainArgs, "buckets" | "sessionPolicies" | "additionalPolicyArns">;
