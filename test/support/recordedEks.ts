/**
 * EKS Pod Identity associations, which moto does not implement, answered in the recorded response shapes of
 * ListPodIdentityAssociations and DescribePodIdentityAssociation (EKS API reference). Every other EKS call
 * goes to `eks` (moto).
 */
export function withRecordedAssociations(
    eks: { send(command: any): Promise<any> },
    /** By `namespace/serviceAccount`: the association's role, and its target role when it chains. */
    associations: Record<string, { roleArn: string; targetRoleArn?: string; disableSessionTags?: boolean; policy?: string }>,
    account = "123456789012",
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
                default:
                    return eks.send(command);
            }
        },
    };
}
