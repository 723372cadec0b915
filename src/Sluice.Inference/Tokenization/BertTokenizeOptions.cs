namespace Sluice.Inference;

/// <summary>
/// How <see cref="BertTokenizeProcessor"/> tokenizes.
/// </summary>
/// <param name="Vocab">Path of a BERT WordPiece <c>vocab.txt</c> (one token per line, id = line number).</param>
/// <param name="Column">The string column to tokenize.</param>
/// <param name="MaxLength">Tokens per row including [CLS] and [SEP]: longer text is truncated, shorter is padded.</param>
/// <param name="Lowercase">True for uncased models (MiniLM, bert-base-uncased).</param>
public sealed record BertTokenizeOptions(string Vocab, string Column = "text", int MaxLength = 128, bool Lowercase = true)
{
    /// <summary>Largest accepted <see cref="MaxLength"/>: BERT position embeddings stop at 512.</summary>
    public const int MaxSupportedLength = 512;

    internal void Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Vocab)) errors.Add("BertTokenizeOptions.Vocab: empty; give the path of a vocab.txt");
        if (string.IsNullOrEmpty(Column)) errors.Add("BertTokenizeOptions.Column: empty; give the name of a string column");
        if (MaxLength is < 2 or > MaxSupportedLength)
            errors.Add($"BertTokenizeOptions.MaxLength: {MaxLength} is not accepted; give 2..{MaxSupportedLength} ([CLS] and [SEP] take two)");
        if (errors.Count > 0) throw new SluiceException(string.Join("; ", errors));
    }
}
