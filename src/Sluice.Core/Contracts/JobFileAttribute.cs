namespace Sluice.Contracts;

/// <summary>
/// Marks a <see cref="string"/> option as the path of a file the processor opens (a model, a vocabulary). On a cluster the
/// driver sends such a file to the workers that run the processor, into each node's cache, and the worker's copy of the
/// options names its cached copy: a job's files need no file system shared by the machines.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class JobFileAttribute : Attribute;
