using Sluice.Contracts;

namespace Sluice.IO;

/// <summary>How an OpenAI Batch API input file is read (<c>read: { format: openai_batch }</c>).</summary>
public sealed record OpenAiBatchOptions
{
    /// <summary>Bytes that are not UTF-8: replaced and reported (default), or an error.</summary>
    public InvalidUtf8 InvalidUtf8 { get; init; } = InvalidUtf8.Replace;

    /// <summary>A file larger than this is read as several tasks of line-aligned byte ranges; a resume must keep it.</summary>
    [ByteSize]
    public long SplitBytes { get; init; } = Files.LineSplits.DefaultSplitBytes;
}

/// <summary>
/// How OpenAI Batch API output lines are written (<c>write: { format: openai_batch }</c>): one response line per row,
/// <c>custom_id</c> kept, the body shaped by the request's <c>url</c>.
/// </summary>
public sealed record OpenAiBatchSinkOptions : FileSinkOptions
{
    /// <summary>The column holding each row's embedding, for <c>/v1/embeddings</c> requests.</summary>
    public string EmbeddingColumn { get; init; } = "embedding";

    /// <summary>The column holding each row's generated text, for <c>/v1/chat/completions</c> and <c>/v1/completions</c>.</summary>
    public string TextColumn { get; init; } = "generated_text";

    public override IEnumerable<OptionError> Problems()
    {
        foreach (var p in base.Problems()) yield return p;
        if (string.IsNullOrWhiteSpace(EmbeddingColumn)) yield return new(nameof(EmbeddingColumn), EmbeddingColumn, "give a column name");
        if (string.IsNullOrWhiteSpace(TextColumn)) yield return new(nameof(TextColumn), TextColumn, "give a column name");
    }

    internal override IEnumerable<KeyValuePair<string, string>> FingerprintFields() =>
        base.FingerprintFields().Concat([new("write.embedding_column", EmbeddingColumn), new("write.text_column", TextColumn)]);
}
