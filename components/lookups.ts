/**
 * Stack-wide AWS lookups (partition, account) shared by every component that uses the same AWS provider,
 * instead of one invoke per component: hundreds of tenants in one stack otherwise pay for hundreds of
 * identical invokes.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

type Lookups = Map<pulumi.ProviderResource | undefined, Map<string, pulumi.Output<unknown>>>;

/** Keyed by the engine connection, so a new deployment (or a test's fresh mock engine) starts empty. */
const cache = new WeakMap<object, Lookups>();

/**
 * `store`'s value for the current deployment (the engine connection), made on first use; undefined outside one.
 * Take it while the program registers: a callback may run after the engine changed.
 */
export function perDeployment<T>(store: WeakMap<object, T>, make: () => T): T | undefined {
    const monitor = pulumi.runtime.getMonitor() as object | undefined;
    if (!monitor) return undefined;
    let value = store.get(monitor);
    if (value === undefined) {
        value = make();
        store.set(monitor, value);
    }
    return value;
}

function shared<T>(resource: pulumi.Resource, key: string, lookup: (opts: pulumi.InvokeOutputOptions) => pulumi.Output<T>): pulumi.Output<T> {
    const provider = resource.getProvider("aws::lookup");
    const byProvider = perDeployment(cache, () => new Map() as Lookups);
    if (!byProvider) {
        return lookup({ parent: resource });
    }
    let values = byProvider.get(provider);
    if (!values) {
        values = new Map();
        byProvider.set(provider, values);
    }
    let value = values.get(key) as pulumi.Output<T> | undefined;
    if (!value) {
        value = lookup({ parent: resource });
        values.set(key, value);
    }
    return value;
}

/** The partition (`aws`, `aws-cn`, `aws-us-gov`) of the resource's AWS provider. */
export function partitionOf(resource: pulumi.Resource): pulumi.Output<string> {
    return shared(resource, "partition", (opts) => aws.getPartitionOutput({}, opts).partition);
}

/** The account id of the resource's AWS provider's credentials. */
export function accountIdOf(resource: pulumi.Resource): pulumi.Output<string> {
    return shared(resource, "accountId", (opts) => aws.getCallerIdentityOutput({}, opts).accountId);
}

/** The region of the resource's AWS provider. */
export function regionOf(resource: pulumi.Resource): pulumi.Output<string> {
    return shared(resource, "region", (opts) => aws.getRegionOutput({}, opts).region);
}

/**
 * The access points of the resource's AWS provider's account and region, by alias (alias -> ARN); undefined when
 * the lookup gives no list (an engine that cannot ask AWS, such as the offline `check`).
 */
export function accessPointsByAliasOf(resource: pulumi.Resource): pulumi.Output<Record<string, string> | undefined> {
    return shared(resource, "accessPointsByAlias", (opts) =>
        aws.s3control
            .getAccessPointsOutput({}, opts)
            .apply((result) => (result.accessPoints ? Object.fromEntries(result.accessPoints.map((a) => [a.alias, a.accessPointArn])) : undefined)),
    );
}
