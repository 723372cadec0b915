using Apache.Arrow.Types;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Sluice.Inference;

/// <summary>The element types a tensor column and a model tensor share.</summary>
internal static class TensorElements
{
    public static IReadOnlyList<TensorElementType> Supported { get; } =
    [
        TensorElementType.Float, TensorElementType.Double, TensorElementType.Int64, TensorElementType.Int32,
        TensorElementType.Int16, TensorElementType.Int8, TensorElementType.UInt8,
    ];

    /// <summary>Bytes per element; 0 for a type Sluice does not carry.</summary>
    public static int Size(TensorElementType type) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 => 4,
        TensorElementType.Double or TensorElementType.Int64 => 8,
        TensorElementType.Int16 => 2,
        TensorElementType.Int8 or TensorElementType.UInt8 => 1,
        _ => 0,
    };

    public static ArrowTypeId ArrowId(TensorElementType type) => type switch
    {
        TensorElementType.Float => ArrowTypeId.Float,
        TensorElementType.Double => ArrowTypeId.Double,
        TensorElementType.Int64 => ArrowTypeId.Int64,
        TensorElementType.Int32 => ArrowTypeId.Int32,
        TensorElementType.Int16 => ArrowTypeId.Int16,
        TensorElementType.Int8 => ArrowTypeId.Int8,
        TensorElementType.UInt8 => ArrowTypeId.UInt8,
        _ => throw new NotSupportedException($"tensor element type {type} is not supported"),
    };
}
