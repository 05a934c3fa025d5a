/**
 * The least-privilege S3 (and KMS) identity policy. Pure: plain values in, a plain document out, no Pulumi,
 * so the policy pack, the runner and the tests can use it without an engine.
 */

/** An IAM policy document as IAM stores it. */
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/** One statement; only the fields this project writes. */
export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: { [kind: string]: string | string[] };
    Action: string | string[];
    Resource?: string | string[];
    Condition?: { [operator: string]: { [key: string]: string | string[] } };
}

/** A bucket entry after validation: a name, never an ARN or URL. */
export interface ResolvedBucketAccess {
    bucket: string;
    access: "read" | "readWrite" | "mountpoint";
    /** `mountpoint` access: Mountpoint may delete files. */
    allowDelete?: boolean;
    prefixes: string[];
    kmsKeyArns: string[];
    /**
     * An S3 Express One Zone directory bucket: its zone, and its region and account when its ARN named them. With
     * `accessPoint`, the role reaches it through that access point for directory buckets: an existing one (`bucket`
     * is then the access point's name) or one the component creates, whose scope holds `prefixes`.
     */
    directory?: { zoneId: string; region?: string; account?: string; accessPoint?: { name: string; create: boolean } };
    /** `mountpoint` access: the directory bucket Mountpoint uses as its shared cache (`cache-xz`). */
    expressCache?: { bucket: string; zoneId: string; region?: string; account?: string };
    /**
     * An S3 access point instead of a bucket: `bucket` is then the access point's name, or its alias. An alias is
     * resolved to the ARN (IAM names access points by ARN only) before a policy is built.
     */
    accessPoint?: { arn: string; alias?: undefined } | { arn?: string; alias: string };
}

/** Where directory buckets live when their ARN does not say: the provider's region and account. */
export interface BucketLocation {
    region: string;
    account: string;
}

export const READ_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"];
export const WRITE_OBJECT_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];
/** Bucket-level actions a reader needs; neither supports the `s3:prefix` condition. */
export const READ_BUCKET_ACTIONS = ["s3:GetBucketLocation"];
export const WRITE_BUCKET_ACTIONS = ["s3:ListBucketMultipartUploads"];
/** What Mountpoint for Amazon S3 calls on objects (its documentation's list), DeleteObject only when deletes are allowed. */
export const MOUNTPOINT_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"];

/** IAM's quota for a customer managed policy, in characters without white space. */
export const MANAGED_POLICY_MAX_LENGTH = 6144;

/**
 * Where object ARNs and `s3:prefix` values for a set of prefixes start. A prefix may carry a policy variable
 * (`${aws:PrincipalTag/kubernetes-namespace}/`), which IAM substitutes at request time.
 */
export interface PolicyScope {
    /** A path put before every prefix (and used alone when a bucket has none). */
    readonly keyPrefix?: string;
    /** `StringEquals` conditions every statement carries (e.g. the session's cluster tag). */
    readonly requireEquals?: { [key: string]: string | string[] };
}

/** ABAC: each Pod Identity session reaches only `bucket/<its namespace>/...`, and only from its cluster. */
export function abacScope(clusterName: string | readonly string[]): PolicyScope {
    const clusters = typeof clusterName === "string" ? [clusterName] : [...new Set(clusterName)];
    return {
        keyPrefix: "${aws:PrincipalTag/kubernetes-namespace}/",
        requireEquals: { "aws:PrincipalTag/eks-cluster-name": clusters.length === 1 ? clusters[0] : clusters },
    };
}

/** `Checkpoints-bucket.1` -> `CheckpointsBucket1`: Sids may hold only letters and digits. */
export function sidFragment(value: string): string {
    return value
        .split(/[^A-Za-z0-9]+/)
        .filter((part) => part.length > 0)
        .map((part) => part[0].toUpperCase() + part.slice(1))
        .join("");
}

function scopedPrefixes(bucket: ResolvedBucketAccess, scope: PolicyScope): string[] {
    const base = scope.keyPrefix ?? "";
    if (bucket.prefixes.length === 0) {
        return base === "" ? [] : [base];
    }
    return bucket.prefixes.map((prefix) => base + prefix);
}

/**
 * Builds the identity policy for the given buckets. Buckets are sorted by name and prefixes and keys are
 * sorted and de-duplicated, so the same input always gives byte-identical JSON, whatever its order.
 */
export function buildS3PermissionsPolicy(
    partition: string,
    buckets: readonly ResolvedBucketAccess[],
    scope: PolicyScope = {},
    location?: BucketLocation,
): PolicyDocument {
    const statements: PolicyStatement[] = [];
    const sorted = [...buckets].sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0));
    for (const bucket of sorted) {
        if (bucket.directory) {
            statements.push(directoryBucketStatement(partition, bucket, location));
            continue;
        }
        // Through an access point, objects are `ACCESS_POINT_ARN/object/KEY` and listing is on the access point.
        if (bucket.accessPoint && bucket.accessPoint.arn === undefined) {
            throw new Error(`access point alias ${bucket.accessPoint.alias}: resolve it to the access point's ARN before building the policy`);
        }
        const bucketArn = bucket.accessPoint ? bucket.accessPoint.arn! : `arn:${partition}:s3:::${bucket.bucket}`;
        const objectArn = (suffix: string) => (bucket.accessPoint ? `${bucketArn}/object/${suffix}` : `${bucketArn}/${suffix}`);
        const write = bucket.access === "readWrite";
        const mountpoint = bucket.access === "mountpoint";
        const sid = sidFragment(bucket.bucket);
        if (bucket.expressCache) {
            // Mountpoint reads and writes cache blocks in its shared cache: a ReadWrite session on that directory bucket.
            const cache = bucket.expressCache;
            statements.push({
                Sid: `MountpointCache${sid}`,
                Effect: "Allow",
                Action: "s3express:CreateSession",
                Resource: directoryArn(partition, "bucket", cache.bucket, cache, location),
            });
        }
        const prefixes = [...new Set(scopedPrefixes(bucket, scope))].sort();

        // GetBucketLocation has no access point resource type; the multipart listing has one. Mountpoint needs neither.
        const metadata = mountpoint ? [] : [...(bucket.accessPoint ? [] : READ_BUCKET_ACTIONS), ...(write ? WRITE_BUCKET_ACTIONS : [])];
        if (metadata.length > 0) statements.push({ Sid: `BucketMetadata${sid}`, Effect: "Allow", Action: metadata, Resource: bucketArn });
        const list: PolicyStatement = {
            Sid: `ListBucket${sid}`,
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: bucketArn,
        };
        if (prefixes.length > 0) {
            list.Condition = { StringLike: { "s3:prefix": prefixes.map((prefix) => `${prefix}*`) } };
        }
        statements.push(list);
        statements.push({
            Sid: `${mountpoint ? "Mountpoint" : write ? "ReadWrite" : "Read"}Objects${sid}`,
            Effect: "Allow",
            Action: mountpoint
                ? [...MOUNTPOINT_OBJECT_ACTIONS, ...(bucket.allowDelete ? ["s3:DeleteObject"] : [])]
                : write
                  ? [...READ_OBJECT_ACTIONS, ...WRITE_OBJECT_ACTIONS]
                  : [...READ_OBJECT_ACTIONS],
            Resource: prefixes.length > 0 ? prefixes.map((prefix) => objectArn(`${prefix}*`)) : objectArn("*"),
        });
    }

    if (scope.requireEquals) {
        for (const statement of statements) {
            statement.Condition = { ...statement.Condition, StringEquals: { ...scope.requireEquals } };
        }
    }

    const decryptKeys = new Set<string>();
    const encryptKeys = new Set<string>();
    for (const bucket of buckets) {
        for (const key of bucket.kmsKeyArns) {
            decryptKeys.add(key);
            if (bucket.access !== "read") {
                encryptKeys.add(key);
            }
        }
    }
    if (encryptKeys.size > 0) {
        statements.push({
            Sid: "KmsForWrittenObjects",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: [...encryptKeys].sort(),
        });
    }
    const decryptOnly = [...decryptKeys].filter((key) => !encryptKeys.has(key)).sort();
    if (decryptOnly.length > 0) {
        statements.push({ Sid: "KmsForReadObjects", Effect: "Allow", Action: "kms:Decrypt", Resource: decryptOnly });
    }
    return { Version: "2012-10-17", Statement: statements };
}

/**
 * A directory bucket (S3 Express One Zone) is reached through `s3express:CreateSession` on the bucket's
 * `s3express` ARN; the session's mode is what separates reading from writing (`ReadOnly` for `read`). IAM cannot
 * name keys inside it, so the whole bucket is granted.
 */
function directoryBucketStatement(partition: string, bucket: ResolvedBucketAccess, location: BucketLocation | undefined): PolicyStatement {
    const directory = bucket.directory!;
    const statement: PolicyStatement = {
        Sid: `${directory.accessPoint ? "DirectoryAccessPoint" : "DirectoryBucket"}${sidFragment(bucket.bucket)}`,
        Effect: "Allow",
        Action: "s3express:CreateSession",
        Resource: directory.accessPoint
            ? directoryArn(partition, "accesspoint", directory.accessPoint.name, directory, location)
            : directoryArn(partition, "bucket", bucket.bucket, directory, location),
    };
    if (bucket.access === "read") statement.Condition = { StringEquals: { "s3express:SessionMode": "ReadOnly" } };
    return statement;
}

/** The buckets with each access point alias replaced by the ARN `arnOf` gives for it, and the aliases it gives none for. */
export function withAccessPointArns(
    buckets: readonly ResolvedBucketAccess[],
    arnOf: (alias: string) => string | undefined,
): { buckets: ResolvedBucketAccess[]; missing: string[] } {
    const missing: string[] = [];
    const resolved = buckets.map((bucket) => {
        const alias = bucket.accessPoint?.alias;
        const arn = alias === undefined ? undefined : arnOf(alias);
        if (alias !== undefined && arn === undefined) missing.push(alias);
        return arn === undefined ? bucket : { ...bucket, accessPoint: { arn } };
    });
    return { buckets: resolved, missing };
}

/**
 * The operations an access point for directory buckets lets through for each access level (its scope's
 * `Permissions`): what the identity policy grants on a general-purpose bucket, in the scope's vocabulary.
 */
export const ACCESS_POINT_SCOPE_PERMISSIONS: Record<ResolvedBucketAccess["access"], string[]> = {
    read: ["GetObject", "GetObjectAttributes", "ListBucket"],
    readWrite: [
        "AbortMultipartUpload",
        "DeleteObject",
        "GetObject",
        "GetObjectAttributes",
        "ListBucket",
        "ListBucketMultipartUploads",
        "ListMultipartUploadParts",
        "PutObject",
    ],
    mountpoint: ["AbortMultipartUpload", "GetObject", "ListBucket", "PutObject"],
};

/** The scope of the access point the component creates for a directory bucket entry: its prefixes and operations. */
export function directoryAccessPointScope(bucket: ResolvedBucketAccess): { permissions: string[]; prefixes: string[] } {
    const permissions = [...ACCESS_POINT_SCOPE_PERMISSIONS[bucket.access], ...(bucket.allowDelete ? ["DeleteObject"] : [])].sort();
    return { permissions, prefixes: [...new Set(bucket.prefixes)].sort().map((prefix) => `${prefix}*`) };
}

/**
 * The policy of the access point the component creates for a directory bucket entry: only the role may create
 * sessions through it, in `ReadOnly` mode for `read`.
 */
export function buildDirectoryAccessPointPolicy(partition: string, bucket: ResolvedBucketAccess, roleArn: string, location?: BucketLocation): PolicyDocument {
    const statement = directoryBucketStatement(partition, bucket, location);
    return { Version: "2012-10-17", Statement: [{ ...statement, Sid: "RayS3AccessRole", Principal: { AWS: roleArn } }] };
}

/**
 * The statement a bucket's owner adds to the bucket's policy so that the account's access points decide (S3 checks
 * the bucket's policy and the access point's on every request through an access point): the S3 user guide's
 * "delegating access control to access points". It admits only requests made through an access point of `account`.
 * For a directory bucket (`arn:PARTITION:s3express:...`) it covers `CreateSession`; for a general-purpose bucket,
 * every action on the bucket and its objects.
 */
export function buildAccessPointDelegationStatement(bucketArn: string, account: string): PolicyStatement {
    const directory = bucketArn.includes(":s3express:");
    return {
        Sid: "DelegateToAccessPoints",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: directory ? "s3express:CreateSession" : "*",
        Resource: directory ? bucketArn : [bucketArn, `${bucketArn}/*`],
        Condition: { StringEquals: { [directory ? "s3express:DataAccessPointAccount" : "s3:DataAccessPointAccount"]: account } },
    };
}

/**
 * The `s3express` ARN of a directory bucket or of an access point for one, in the region and account its own ARN
 * gave, else the location's.
 */
export function directoryArn(
    partition: string,
    type: "bucket" | "accesspoint",
    name: string,
    where: { region?: string; account?: string },
    location: BucketLocation | undefined,
): string {
    const region = where.region ?? location?.region;
    const account = where.account ?? location?.account;
    if (region === undefined || account === undefined) {
        throw new Error(`directory bucket ${name}: its region and account are needed for its ARN (give its ARN, or a location)`);
    }
    return `arn:${partition}:s3express:${region}:${account}:${type}/${name}`;
}

/** `us-west-2` -> `usw2`: the prefix of the region's Availability Zone ids (`usw2-az1`). */
export function zoneIdPrefix(region: string): string {
    const [area, ...rest] = region.split("-");
    const number = rest.pop() ?? "";
    const words: Record<string, string> = {
        north: "n",
        south: "s",
        east: "e",
        west: "w",
        central: "c",
        northeast: "ne",
        northwest: "nw",
        southeast: "se",
        southwest: "sw",
    };
    return area + rest.map((w) => words[w] ?? w).join("") + number;
}

/** A directory bucket name, `BASE--ZONEID--x-s3`, and its zone id. */
export const DIRECTORY_BUCKET_NAME = /^([a-z0-9][a-z0-9.-]*[a-z0-9])--([a-z0-9-]+)--x-s3$/;

/** JSON as IAM measures it for its size quotas: no white space outside strings. */
export function compactJson(document: unknown): string {
    return JSON.stringify(document);
}

/** Length of a policy as IAM counts it against its quotas (white space is not counted). */
export function iamPolicyLength(document: unknown): number {
    return iamJsonLength(compactJson(document));
}

/** {@link iamPolicyLength} of a document already serialized, so a caller that keeps the JSON serializes once. */
export function iamJsonLength(json: string): number {
    return json.replace(/\s/g, "").length;
}
