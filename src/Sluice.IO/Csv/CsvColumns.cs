using System.Globalization;
using Apache.Arrow;

namespace Sluice.IO.Csv;

/// <summary>Infers CSV column types and converts raw fields to Arrow columns, with located errors.</summary>
internal static class CsvColumns
{
    public static Schema Schema(IReadOnlyList<string> names, IReadOnlyList<CsvColumnType> types)
    {
        var fields = new List<Field>(names.Count);
        for (var c = 0; c < names.Count; c++) fields.Add(new Field(names[c], CsvColumnTypes.ArrowType(types[c]), nullable: true));
        return new Schema(fields, null);
    }

    /// <summary>int64 if every non-empty value parses, else float64, else bool, else string.</summary>
    public static CsvColumnType Infer(IReadOnlyList<CsvRow> rows, int column)
    {
        bool isLong = true, isDouble = true, isBool = true, any = false;
        foreach (var row in rows)
        {
            if (row.Fields[column] is not { } v) continue;
            any = true;
            isLong = isLong && TryLong(v, out _);
            isDouble = isDouble && TryDouble(v, out _);
            isBool = isBool && bool.TryParse(v, out _);
            if (!isLong && !isDouble && !isBool) return CsvColumnType.String;
        }
        if (!any) return CsvColumnType.String;
        return isLong ? CsvColumnType.Int64 : isDouble ? CsvColumnType.Float64 : isBool ? CsvColumnType.Bool : CsvColumnType.String;
    }

    public static RecordBatch ToBatch(string file, Schema schema, IReadOnlyList<CsvColumnType> types, IReadOnlyList<CsvRow> rows)
    {
        var arrays = new IArrowArray[types.Count];
        for (var c = 0; c < arrays.Length; c++) arrays[c] = Build(file, schema.GetFieldByIndex(c).Name, types[c], rows, c);
        return new RecordBatch(schema, arrays, rows.Count);
    }

    private static IArrowArray Build(string file, string name, CsvColumnType type, IReadOnlyList<CsvRow> rows, int c)
    {
        switch (type)
        {
            case CsvColumnType.Int64:
                {
                    var b = new Int64Array.Builder();
                    foreach (var row in rows)
                    {
                        if (row.Fields[c] is not { } v) b.AppendNull();
                        else if (TryLong(v, out var x)) b.Append(x);
                        else throw Bad(file, row, name, v, type);
                    }
                    return b.Build();
                }
            case CsvColumnType.Float64:
                {
                    var b = new DoubleArray.Builder();
                    foreach (var row in rows)
                    {
                        if (row.Fields[c] is not { } v) b.AppendNull();
                        else if (TryDouble(v, out var x)) b.Append(x);
                        else throw Bad(file, row, name, v, type);
                    }
                    return b.Build();
                }
            case CsvColumnType.Bool:
                {
                    var b = new BooleanArray.Builder();
                    foreach (var row in rows)
                    {
                        if (row.Fields[c] is not { } v) b.AppendNull();
                        else if (bool.TryParse(v, out var x)) b.Append(x);
                        else throw Bad(file, row, name, v, type);
                    }
                    return b.Build();
                }
            default:
                {
                    var b = new StringArray.Builder();
                    foreach (var row in rows)
                    {
                        if (row.Fields[c] is { } v) b.Append(v);
                        else b.AppendNull();
                    }
                    return b.Build();
                }
        }
    }

    private static BadInputException Bad(string file, CsvRow row, string column, string value, CsvColumnType type) =>
        new($"{file} line {row.Line}, column '{column}': '{value}' is not {CsvColumnTypes.Describe(type)}; fix the value or declare the column as string");

    private static bool TryLong(string v, out long x) => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out x);

    private static bool TryDouble(string v, out double x) => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out x);
}
