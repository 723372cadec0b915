namespace Sluice.Contracts;

/// <summary>
/// What determines the rows an output holds: the inputs (with sizes and modification times), the
/// read options, the stages and the write format, as named fields (<c>read.block_rows</c>,
/// <c>input 'docs/a.txt'</c>). A sink records it when an output is started and compares it when the
/// output is resumed, so a resume over changed inputs or a changed spec is refused instead of
/// mixing two jobs' rows into one output.
/// </summary>
/// <param name="Fields">Field name to value; compared by name, in ordinal order.</param>
public sealed record OutputFingerprint(IReadOnlyDictionary<string, string> Fields)
{
    /// <summary>The differences from <paramref name="recorded"/> (what the output was written with), one phrase each.</summary>
    public IReadOnlyList<string> DifferencesFrom(OutputFingerprint recorded)
    {
        var differences = new List<string>();
        foreach (var name in recorded.Fields.Keys.Union(Fields.Keys).Order(StringComparer.Ordinal))
        {
            var was = recorded.Fields.GetValueOrDefault(name);
            var now = Fields.GetValueOrDefault(name);
            if (string.Equals(was, now, StringComparison.Ordinal)) continue;
            differences.Add((was, now) switch
            {
                (null, _) => $"{name} is new ({now})",
                (_, null) => $"{name} is gone (was {was})",
                _ => $"{name} was {was}, now {now}",
            });
        }
        return differences;
    }
}
