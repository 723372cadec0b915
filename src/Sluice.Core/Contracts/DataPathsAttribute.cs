namespace Sluice.Contracts;

/// <summary>
/// Marks a <see cref="string"/> option that names a column whose values are paths of files the processor reads: the data,
/// not the job's author, chooses those files. <see cref="Root"/> names the option (a <see cref="DataRootAttribute"/>
/// directory) that confines them; a host that runs other people's jobs (the job service) refuses the option without it.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class DataPathsAttribute(string root) : Attribute
{
    /// <summary>The member name of the option that confines the paths (<c>nameof(Root)</c>).</summary>
    public string Root { get; } = root;
}
