namespace Sluice.Contracts;

/// <summary>
/// Marks a <see cref="string"/> option as the directory that confines the paths a processor reads from its data (see
/// <see cref="DataPathsAttribute"/>): no path from the data leads out of it. It is a path the job names, so a host that
/// confines jobs to directories checks it as it checks a <see cref="JobFileAttribute"/> file.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class DataRootAttribute : Attribute;
