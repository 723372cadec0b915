using Apache.Arrow;
using Apache.Arrow.Types;

namespace Sluice.IO.JsonLines;

/// <summary>
/// Infers a JSON Lines schema from a block of parsed rows and fits later rows to it, with errors
/// that name the file, line and column. Integers and fractions together make float64; arrays of
/// one length make a tensor column (fixed_size_list), ragged ones a list, as <see cref="Rows"/> does.
/// </summary>
internal static class JsonSchemaInference
{
    public static Schema Infer(string file, IReadOnlyList<JsonRow> rows)
    {
        var names = new List<string>();
        var samples = new Dictionary<string, (object Value, int Line)>(StringComparer.Ordinal);
        var widened = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            foreach (var (name, value) in row.Values)
            {
                if (!widened.ContainsKey(name)) { names.Add(name); widened[name] = false; }
                if (value is null) continue;
                if (!samples.TryGetValue(name, out var first)) { samples[name] = (value, row.Line); continue; }
                var a = Kind(first.Value);
                var b = Kind(value);
                if (a == b) continue;
                if ((a, b) is ("int64", "float64") or ("float64", "int64") or ("int64[]", "float64[]") or ("float64[]", "int64[]"))
                {
                    widened[name] = true;
                    continue;
                }
                throw new BadInputException(
                    $"{file} line {row.Line}, column '{name}': {Show(value)} is {b} but line {first.Line} holds {a}; give the column values of one type");
            }
        }
        var fields = names.Select(n => new Field(n, TypeOf(n, samples, widened[n], rows), nullable: true)).ToList();
        return new Schema(fields, null);
    }

    public static RecordBatch ToBatch(string file, Schema schema, IReadOnlyList<JsonRow> rows)
    {
        var fitted = new List<IReadOnlyDictionary<string, object?>>(rows.Count);
        foreach (var row in rows)
        {
            var values = new Dictionary<string, object?>(row.Values.Count, StringComparer.Ordinal);
            foreach (var (name, value) in row.Values)
            {
                var field = schema.GetFieldByName(name)
                    ?? throw new BadInputException($"{file} line {row.Line}: column '{name}' does not appear in the file's first block; add it (null is fine) to an early line or remove it");
                values[name] = Fit(file, row.Line, field, value);
            }
            fitted.Add(values);
        }
        return Rows.ToBatch(fitted, schema);
    }

    private static IArrowType TypeOf(string name, Dictionary<string, (object Value, int Line)> samples, bool widened, IReadOnlyList<JsonRow> rows)
    {
        if (!samples.TryGetValue(name, out var sample)) return StringType.Default;
        switch (sample.Value)
        {
            case string: return StringType.Default;
            case bool: return BooleanType.Default;
            case long: return widened ? DoubleType.Default : Int64Type.Default;
            case double: return DoubleType.Default;
            default:
                var element = widened || sample.Value is double[] ? (IArrowType)DoubleType.Default : Int64Type.Default;
                var length = ((System.Array)sample.Value).Length;
                var item = new Field("item", element, nullable: false);
                var fixedLength = rows.All(r => !r.Values.TryGetValue(name, out var v) || v is not System.Array a || a.Length == length);
                return fixedLength ? new FixedSizeListType(item, length) : new ListType(item);
        }
    }

    private static object? Fit(string file, int line, Field field, object? value)
    {
        if (value is null) return null;
        switch (field.DataType, value)
        {
            case (StringType, string):
            case (BooleanType, bool):
            case (Int64Type, long):
            case (DoubleType, double):
                return value;
            case (DoubleType, long l):
                return (double)l;
            case (FixedSizeListType f, System.Array a) when a.Length != f.ListSize:
                throw new BadInputException(
                    $"{file} line {line}, column '{field.Name}': an array of {a.Length} numbers where the first block's rows hold {f.ListSize}; give every row {f.ListSize} numbers");
            case (NestedType n, long[] longs) when n.Fields[0].DataType is DoubleType:
                return System.Array.ConvertAll(longs, x => (double)x);
            case (NestedType n2, long[]) when n2.Fields[0].DataType is Int64Type:
            case (NestedType n3, double[]) when n3.Fields[0].DataType is DoubleType:
                return value;
            default:
                throw new BadInputException(
                    $"{file} line {line}, column '{field.Name}': {Show(value)} is {Kind(value)} but the column is {Describe(field.DataType)} (inferred from the file's first block); fix the value");
        }
    }

    private static string Kind(object value) => value switch
    {
        string => "a string",
        bool => "a bool",
        long => "int64",
        double => "float64",
        long[] => "int64[]",
        double[] => "float64[]",
        _ => value.GetType().Name,
    };

    private static string Describe(IArrowType type) => type switch
    {
        Int64Type => "int64",
        DoubleType => "float64",
        BooleanType => "bool",
        StringType => "string",
        FixedSizeListType f => $"an array of {f.ListSize} {Describe(f.ValueDataType)}",
        ListType l => $"an array of {Describe(l.ValueDataType)}",
        _ => type.Name,
    };

    private static string Show(object value) => value switch
    {
        string s => $"'{(s.Length > 40 ? s[..40] + "…" : s)}'",
        System.Array a => $"an array of {a.Length}",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
