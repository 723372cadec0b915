using System.Text.Json.Serialization;

namespace Sluice.IO;

/// <summary>How CSV files are read. A header row is required.</summary>
public sealed record CsvOptions
{
    /// <summary>The field separator.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>
    /// Column name → type, one of <c>string</c>, <c>int64</c>, <c>float64</c>, <c>bool</c>. Columns not
    /// named here are inferred from each file's first block: int64 if every value parses, else float64,
    /// else bool, else string. An empty field is null.
    /// </summary>
    [JsonPropertyName("columns")]
    public IReadOnlyDictionary<string, string>? ColumnTypes { get; init; }

    /// <summary>Bytes that are not UTF-8: replaced and reported (default), or an error.</summary>
    public InvalidUtf8 InvalidUtf8 { get; init; } = InvalidUtf8.Replace;
}
