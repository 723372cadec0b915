namespace Sluice.Contracts;

/// <summary>
/// A processor that can say, before any actor starts, why it cannot run with the resources its
/// stage asks for (a GPU stage on a machine without the CUDA provider, say). The executor asks one
/// instance per stage and refuses the job with every reason it gets.
/// </summary>
public interface IPreflightCheck
{
    /// <param name="stage">The stage's name, for messages.</param>
    /// <param name="resources">What each actor of the stage will hold.</param>
    /// <param name="gpusAreSimulated">Whether the node's GPUs are simulated (<c>--sim-gpus</c>) rather than real devices.</param>
    /// <returns>Problems, each saying what to change or install; empty when the stage can run.</returns>
    IEnumerable<string> Preflight(string stage, ResourceRequest resources, bool gpusAreSimulated);
}
