namespace Sluice.Contracts;

/// <summary>
/// One problem with an options record, as a value: the member (a property path such as <c>Pool.Min</c>), the value
/// given and what would be accepted. Callers map the member to their own names (a YAML field, a CLI flag).
/// </summary>
public sealed record OptionError(string Member, string? Value, string Accepted)
{
    public override string ToString() => Value is null ? $"{Member}: {Accepted}" : $"{Member}: '{Value}' is not accepted; {Accepted}";
}

/// <summary>Marks a <see cref="long"/> option as a size in bytes: a job spec may give it as <c>512MiB</c>, <c>2GiB</c> or a plain number.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class ByteSizeAttribute : Attribute;

/// <summary>An options record that can say what is wrong with it, as values, before anything runs.</summary>
public interface IValidatedOptions
{
    /// <summary>Every problem; empty when the options are valid. Members are property paths (<c>Pool.Min</c>).</summary>
    IEnumerable<OptionError> Problems();
}
