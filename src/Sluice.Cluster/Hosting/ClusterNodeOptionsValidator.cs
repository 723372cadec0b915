using Microsoft.Extensions.Options;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// Checks a node's options the way the generic host checks options (<see cref="IValidateOptions{TOptions}"/>): every
/// problem at once, each naming the option, the value and what is accepted. The host extensions run it when the node
/// is added, so a wrong option fails the host's build, not the silo's start minutes later.
/// </summary>
public sealed class ClusterNodeOptionsValidator : IValidateOptions<ClusterNodeOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>Refuses invalid options with one <see cref="SluiceException"/> listing every problem, one per line.</summary>
    internal static void ThrowIfInvalid(ClusterNodeOptions options)
    {
        var result = new ClusterNodeOptionsValidator().Validate(null, options);
        if (result.Failed) throw new SluiceException(string.Join(Environment.NewLine, result.Failures ?? []));
    }
}
