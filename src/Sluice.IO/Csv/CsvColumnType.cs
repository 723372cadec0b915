using Apache.Arrow.Types;

namespace Sluice.IO.Csv;

internal enum CsvColumnType
{
    String,
    Int64,
    Float64,
    Bool,
}

internal static class CsvColumnTypes
{
    public const string Accepted = "string, int64, float64 or bool";

    public static CsvColumnType Parse(string column, string type) => type.Trim().ToLowerInvariant() switch
    {
        "string" => CsvColumnType.String,
        "int64" => CsvColumnType.Int64,
        "float64" => CsvColumnType.Float64,
        "bool" => CsvColumnType.Bool,
        _ => throw new SluiceException($"CsvOptions.ColumnTypes['{column}'] is '{type}'; accepted: {Accepted}"),
    };

    public static IArrowType ArrowType(CsvColumnType type) => type switch
    {
        CsvColumnType.Int64 => Int64Type.Default,
        CsvColumnType.Float64 => DoubleType.Default,
        CsvColumnType.Bool => BooleanType.Default,
        _ => StringType.Default,
    };

    public static string Describe(CsvColumnType type) => type switch
    {
        CsvColumnType.Int64 => "an int64",
        CsvColumnType.Float64 => "a float64",
        CsvColumnType.Bool => "a bool (true or false)",
        _ => "a string",
    };
}
