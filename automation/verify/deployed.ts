/**
 * What `up` left, read once for `verify` and `explain --live`: each stack's outputs through the Pulumi CLI (the deployed
 * role of every tenant), with the message for a missing CLI naming the command that was run.
 */
import type { StackDriver } from "../driver";
import { ToolMissingError } from "../errors";
import type { StackTarget } from "../stacks";
import type { DeployedTenant } from "./shared";

/** Readies the driver to read outputs; a missing Pulumi CLI is reported for `command`, which reads them with it. */
export async function prepareOutputs(driver: StackDriver, targets: StackTarget[], command: string): Promise<void> {
    try {
        await driver.prepare("outputs", targets);
    } catch (error) {
        // The CLI's message names `outputs`; the user ran another command.
        if ((error as Error)?.name === "ToolMissingError") {
            throw new ToolMissingError(
                String((error as Error).message).replace(
                    "`outputs` needs the Pulumi CLI",
                    `${command} reads each stack's outputs (the deployed role ARNs) with the Pulumi CLI, which is missing`,
                ),
            );
        }
        throw error;
    }
}

/** The deployed tenants of a stack (its `tenants` output: each tenant's role, assets role and role group). */
export async function deployedTenants(driver: StackDriver, target: StackTarget, signal: AbortSignal): Promise<Record<string, DeployedTenant>> {
    const { outputs } = await driver.run({ operation: "outputs", target, policyPacks: [], policyPackConfigs: [], onOutput: () => undefined, signal });
    return ((outputs ?? {}) as { tenants?: Record<string, DeployedTenant> }).tenants ?? {};
}
