using Sluice.Contracts;
namespace Sluice.Inference;

/// <summary>
/// How <see cref="BertTokenizeProcessor"/> tokenizes.
/// </summary>
/// <param name="Vocab">Path of a BERT WordPiece <c>vocab.txt</c> (one token per line, id = line number).</param>
/// <param name="Column">The string column to tokenize.</param>
/// <param name="MaxLength">Tokens per row including [CLS] and [SEP]: longer text is truncated, shorter is padded.</param>
/// <param name="Lowercase">True for uncased models (MiniLM, bert-base-uncased).</param>
public sealed record BertTokenizeOptions([property: JobFile] string Vocab, string Column = "text", int MaxLength = 128, bool Lowercase = true) : IValidatedOptions
{
    /// <summary>Largest accepted <see cref="MaxLength"/>: BERT position embeddings stop at 512.</summary>
    public const int MaxSupportedLength = 512;

    internal void Validate()
    {
        var errors = Problems().Select(p => $"{nameof(BertTokenizeOptions)}.{p}").ToList();
        if (errors.Count > 0) throw new SluiceException(string.Join("; ", errors));
    }

    public IEnumerable<OptionError> Problems()
    {
        if (string.IsNullOrWhiteSpace(Vocab)) yield return new(nameof(Vocab), Vocab, "give the path of a vocab.txt");
        if (string.IsNullOrEmpty(Column)) yield return new(nameof(Column), Column, "give the name of a string column");
        if (MaxLength is < 2 or > MaxSupportedLength)
            yield return new(nameof(MaxLength), MaxLength.ToString(System.Globalization.CultureInfo.InvariantCulture), $"give 2..{MaxSupportedLength} ([CLS] and [SEP] take two)");
    }
}
