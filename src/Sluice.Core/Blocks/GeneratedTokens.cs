using Apache.Arrow;

namespace Sluice.Blocks;

/// <summary>
/// Tokens a generation stage produced, read from its output's <see cref="Column"/> (the <c>generate</c> op writes it per
/// row) when a block is stored, so the executor can show tokens/s without reading blocks: the count travels on the ref.
/// </summary>
public static class GeneratedTokens
{
    /// <summary>The per-row count of generated tokens, as <c>generate</c> and the OpenAI response format name it.</summary>
    public const string Column = "completion_tokens";

    /// <summary>The sum of <see cref="Column"/> over <paramref name="batch"/>; 0 when it has no such integer column.</summary>
    public static long Of(RecordBatch? batch)
    {
        if (batch is null || batch.Schema.GetFieldIndex(Column) is not (var i and >= 0)) return 0;
        long sum = 0;
        switch (batch.Column(i))
        {
            case Int32Array a:
                for (var r = 0; r < a.Length; r++) sum += a.GetValue(r) ?? 0;
                break;
            case Int64Array a:
                for (var r = 0; r < a.Length; r++) sum += a.GetValue(r) ?? 0;
                break;
        }
        return sum;
    }
}
