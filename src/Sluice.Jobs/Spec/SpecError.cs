namespace Sluice.Jobs;

/// <summary>Where in a spec a problem is: a file and line, or a <c>--set</c> argument.</summary>
/// <param name="Source">The spec file's name, or the <c>--set key=value</c> argument the value came from.</param>
/// <param name="Line">1-based line in <paramref name="Source"/>; null for a <c>--set</c> argument or a missing field.</param>
public sealed record SpecLocation(string Source, int? Line)
{
    public override string ToString() => Line is { } l ? $"{Source} line {l}" : Source;
}

/// <summary>
/// One problem with a job spec, as a value: the field's path in the spec (<c>stages[1].pool.min</c>), the value
/// given (null when missing), what would be accepted, and where it was written. Callers print it their way.
/// </summary>
public sealed record SpecError(string Field, string? Value, string Accepted, SpecLocation? At = null)
{
    /// <summary>The problem without its location: <c>read.format: 'xml' is not accepted; give one of: parquet, csv</c>.</summary>
    public string Problem => Value is null ? $"{Field}: {Accepted}" : $"{Field}: '{Value}' is not accepted; {Accepted}";

    public override string ToString() => At is null ? Problem : $"{At}: {Problem}";
}

/// <summary>A job spec (or another options file) that cannot be used as written: every problem, each a <see cref="SpecError"/>.</summary>
public sealed class SpecException : SluiceException
{
    public SpecException(IReadOnlyList<SpecError> errors)
        : this(errors, "the job spec")
    {
    }

    /// <param name="errors">Every problem.</param>
    /// <param name="what">What is not valid, for the message: <c>the job spec</c>, <c>the autoscale file 'a.yaml'</c>.</param>
    public SpecException(IReadOnlyList<SpecError> errors, string what)
        : base($"{what} is not valid:" + Environment.NewLine + string.Join(Environment.NewLine, (errors ?? []).Select(e => "  - " + e))) =>
        Errors = errors ?? [];

    public IReadOnlyList<SpecError> Errors { get; }
}
