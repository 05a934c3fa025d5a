/** The Pod Identity agent add-on of each cluster, as DescribeAddon answers it (moto has no add-ons). */
export interface RecordedAgents {
    /** By cluster name: the add-on's status and health, or "absent". Clusters not listed: ACTIVE, no issue. */
    addons?: Record<string, { status: string; addonVersion?: string; health?: { issues: { code: string; message: string }[] } } | "absent">;
    /** Clusters in EKS Auto Mode: DescribeCluster answers computeConfig.enabled. */
    autoMode?: string[];
    /** An error DescribeAddon fails with (a caller without eks:DescribeAddon). */
    error?: { name: string; message: string };
}

/**
 * EKS Pod Identity associations and add-ons, which moto does not implement, answered in the recorded response shapes of
 * ListPodIdentityAssociations, DescribePodIdentityAssociation and DescribeAddon (EKS API reference). Every other EKS
 * call goes to `eks` (moto).
 */
export function withRecordedAssociations(
    eks: { send(command: any): Promise<any> },
    /** By `namespace/serviceAccount`: the association's role, and its target role when it chains. */
    associations: Record<string, { roleArn: string; targetRoleArn?: string; disableSessionTags?: boolean; policy?: string }>,
    account = "123456789012",
    agents: RecordedAgents = {},
): { send(command: any): Promise<any> } {
    const idOf = (key: string) => `a-${Object.keys(associations).indexOf(key).toString(16).padStart(17, "0")}`;
    const keyOf = (id: string) => Object.keys(associations).find((key) => idOf(key) === id);
    return {
        send: async (command: any) => {
            const input = command.input;
            switch (command.constructor.name) {
                case "ListPodIdentityAssociationsCommand": {
                    const key = `${input.namespace}/${input.serviceAccount}`;
                    if (!associations[key]) return { associations: [] };
                    const associationId = idOf(key);
                    const associationArn = `arn:aws:eks:us-west-2:${account}:podidentityassociation/${input.clusterName}/${associationId}`;
                    return {
                        associations: [
                            { clusterName: input.clusterName, namespace: input.namespace, serviceAccount: input.serviceAccount, associationId, associationArn },
                        ],
                    };
                }
                case "DescribePodIdentityAssociationCommand": {
                    const key = keyOf(input.associationId);
                    if (!key) throw Object.assign(new Error(`association ${input.associationId} not found`), { name: "ResourceNotFoundException" });
                    const [namespace, serviceAccount] = key.split("/");
                    return {
                        association: { clusterName: input.clusterName, namespace, serviceAccount, associationId: input.associationId, ...associations[key] },
                    };
                }
                case "DescribeAddonCommand": {
                    if (agents.error) throw Object.assign(new Error(agents.error.message), { name: agents.error.name });
                    const addon = agents.addons?.[input.clusterName] ?? { status: "ACTIVE", addonVersion: "v1.3.4-eksbuild.1", health: { issues: [] } };
                    if (addon === "absent") {
                        throw Object.assign(new Error(`No addon: ${input.addonName} found in cluster: ${input.clusterName}`), {
                            name: "ResourceNotFoundException",
                        });
                    }
                    return {
                        addon: {
                            addonName: input.addonName,
                            clusterName: input.clusterName,
                            addonArn: `arn:aws:eks:us-west-2:${account}:addon/${input.clusterName}/${input.addonName}/x`,
                            health: { issues: [] },
                            ...addon,
                        },
                    };
                }
                case "DescribeClusterCommand": {
                    const described = await eks.send(command);
                    return agents.autoMode?.includes(input.name)
                        ? { ...described, cluster: { ...described.cluster, computeConfig: { enabled: true, nodePools: ["general-purpose"] } } }
                        : described;
                }
                default:
                    return eks.send(command);
            }
        },
    };
}
