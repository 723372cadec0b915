using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Sluice;

/// <summary>
/// Tensor columns: each row holds a tensor of one fixed shape, stored as <c>FixedSizeList&lt;T&gt;</c>
/// of the flattened elements, with the shape in field metadata (the <c>arrow.fixed_shape_tensor</c>
/// convention, DESIGN.md §1).
/// </summary>
public static class TensorColumns
{
    public const string ExtensionNameKey = "ARROW:extension:name";
    public const string ExtensionMetadataKey = "ARROW:extension:metadata";
    public const string FixedShapeTensor = "arrow.fixed_shape_tensor";

    /// <summary>Wraps a flat row-major buffer of <c>rows x prod(shape)</c> elements as a tensor column, without copying.</summary>
    public static (Field Field, FixedSizeListArray Array) Create<T>(string name, T[] flat, int rows, IReadOnlyList<int> shape)
        where T : struct
    {
        var width = 1;
        foreach (var d in shape) width *= d;
        if (flat.Length < (long)rows * width)
            throw new ArgumentException($"tensor column '{name}': {flat.Length} elements cannot hold {rows} rows of shape [{string.Join(',', shape)}]");
        var elementType = ElementType<T>();
        var buffer = new ArrowBuffer(MemoryMarshal.AsBytes(flat.AsMemory(0, rows * width).Span).ToArray());
        var values = ArrowArrayFactory.BuildArray(new ArrayData(elementType, rows * width, 0, 0, [ArrowBuffer.Empty, buffer]));
        var type = new FixedSizeListType(new Field("item", elementType, nullable: false), width);
        var array = new FixedSizeListArray(type, rows, values, ArrowBuffer.Empty, 0, 0);
        var metadata = new Dictionary<string, string>
        {
            [ExtensionNameKey] = FixedShapeTensor,
            [ExtensionMetadataKey] = $"{{\"shape\":[{string.Join(',', shape)}]}}",
        };
        return (new Field(name, type, nullable: false, metadata), array);
    }

    /// <summary>The per-row shape of a tensor column: from metadata if present, else [list size].</summary>
    public static int[] RowShape(Field field)
    {
        if (field.DataType is not FixedSizeListType fsl)
            throw new ArgumentException($"column '{field.Name}' is {field.DataType.Name}, not a tensor column (fixed_size_list)");
        if (field.Metadata is { } md && md.TryGetValue(ExtensionMetadataKey, out var json))
        {
            var start = json.IndexOf('[', StringComparison.Ordinal);
            var end = json.IndexOf(']', StringComparison.Ordinal);
            if (start >= 0 && end > start)
            {
                var dims = json[(start + 1)..end].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return dims.Select(int.Parse).ToArray();
            }
        }
        return [fsl.ListSize];
    }

    /// <summary>The column's elements for its rows, in place (no copy), row-major.</summary>
    public static ReadOnlySpan<T> Elements<T>(FixedSizeListArray array)
        where T : struct
    {
        var width = ((FixedSizeListType)array.Data.DataType).ListSize;
        var values = array.Values;
        var span = MemoryMarshal.Cast<byte, T>(values.Data.Buffers[1].Span);
        var first = (values.Offset + array.Offset * width);
        return span.Slice(first, array.Length * width);
    }

    public static IArrowType ElementType<T>() where T : struct => typeof(T) switch
    {
        var t when t == typeof(float) => FloatType.Default,
        var t when t == typeof(double) => DoubleType.Default,
        var t when t == typeof(long) => Int64Type.Default,
        var t when t == typeof(int) => Int32Type.Default,
        var t when t == typeof(byte) => UInt8Type.Default,
        var t when t == typeof(sbyte) => Int8Type.Default,
        var t when t == typeof(short) => Int16Type.Default,
        var t when t == typeof(bool) => throw new NotSupportedException("bool tensors are not supported; use uint8"),
        _ => throw new NotSupportedException($"tensor element type {typeof(T).Name} is not supported"),
    };
}
