/**
 * The Pod Identity agent add-on of each cluster.
 */
import { DescribeAddonCommand, DescribeClusterCommand } from "@aws-sdk/client-eks";
import { POD_IDENTITY_AGENT_ADDON } from "../../components/constants";
import { Sender, Recorder } from "./shared";

/**
 * The cluster runs the Pod Identity agent: the `eks-pod-identity-agent` add-on ACTIVE with no health issue, or EKS Auto
 * Mode (which runs it itself). Without it associations do nothing and pods fall back to the node role.
 */
export async function verifyPodIdentityAgent(stack: string, cluster: string, eks: Sender, out: Recorder, label: string): Promise<void> {
    if (out.agentClusters.has(cluster)) return;
    out.agentClusters.add(cluster);
    const create =
        `aws eks create-addon --cluster-name ${cluster} --addon-name ${POD_IDENTITY_AGENT_ADDON} ` +
        `(or ray-s3-access:podIdentityAgent: "create" and \`ray-s3-access up --stack ${stack}\`), then restart the pods`;
    let addon: any;
    try {
        addon = (await eks.send(new DescribeAddonCommand({ clusterName: cluster, addonName: POD_IDENTITY_AGENT_ADDON }))).addon;
    } catch (error) {
        if ((error as { name?: string })?.name !== "ResourceNotFoundException") {
            out.add(
                label,
                "pod-identity-agent",
                false,
                `could not read the ${POD_IDENTITY_AGENT_ADDON} add-on of cluster ${cluster}: ${(error as Error)?.message ?? String(error)}`,
                `allow eks:DescribeAddon and eks:DescribeCluster to the identity verify runs as`,
            );
            return;
        }
        const described = await eks.send(new DescribeClusterCommand({ name: cluster }));
        const autoMode = described.cluster?.computeConfig?.enabled === true;
        out.add(
            label,
            "pod-identity-agent",
            autoMode,
            autoMode
                ? `cluster ${cluster} is in EKS Auto Mode, which runs the Pod Identity agent itself`
                : `cluster ${cluster} has no ${POD_IDENTITY_AGENT_ADDON} add-on and is not in EKS Auto Mode: its Pod Identity associations do nothing, and pods fall back to the node role or get no credentials`,
            create,
        );
        return;
    }
    const issues: { code?: string; message?: string }[] = addon?.health?.issues ?? [];
    const status: string = addon?.status ?? "UNKNOWN";
    const ok = status === "ACTIVE" && issues.length === 0;
    const settling = status === "CREATING" || status === "UPDATING";
    out.add(
        label,
        "pod-identity-agent",
        ok,
        ok
            ? `${POD_IDENTITY_AGENT_ADDON} ${addon?.addonVersion ?? ""} is ACTIVE on cluster ${cluster}`.replace("  ", " ")
            : `${POD_IDENTITY_AGENT_ADDON} on cluster ${cluster} is ${status}${issues.length ? `: ${issues.map((i) => `${i.code ?? "issue"}: ${i.message ?? ""}`.trim()).join("; ")}` : ""}; pods on nodes without a healthy agent get no Pod Identity credentials`,
        settling
            ? `wait until it is ACTIVE (aws eks wait addon-active --cluster-name ${cluster} --addon-name ${POD_IDENTITY_AGENT_ADDON}) and verify again`
            : `aws eks describe-addon --cluster-name ${cluster} --addon-name ${POD_IDENTITY_AGENT_ADDON} lists the health issues; fix them, then aws eks update-addon --cluster-name ${cluster} --addon-name ${POD_IDENTITY_AGENT_ADDON} --resolve-conflicts OVERWRITE`,
    );
}
