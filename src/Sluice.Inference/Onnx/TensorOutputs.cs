using Apache.Arrow;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Sluice.Inference;

/// <summary>Model outputs → tensor columns.</summary>
internal static class TensorOutputs
{
    /// <summary>
    /// Copies an output into a tensor column of its per-row shape. A per-token output of a trimmed
    /// run is padded back to the untrimmed length with zeros, so every batch has the same column shape.
    /// </summary>
    public static (Field Field, IArrowArray Array) ToColumn(OutputBinding binding, OrtValue value, int rows, PreparedInputs inputs)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        var rowShape = shape.Skip(1).Select(d => checked((int)d)).ToArray();
        var dims = binding.Metadata.Dimensions;
        if (inputs.Trimmed && shape.Length >= 2 && shape[1] == inputs.Sequence && dims.Length >= 2 && dims[1] < 0)
            rowShape[0] = inputs.FullSequence;

        return info.ElementDataType switch
        {
            TensorElementType.Float => Copy<float>(binding.Column, value, rows, rowShape),
            TensorElementType.Double => Copy<double>(binding.Column, value, rows, rowShape),
            TensorElementType.Int64 => Copy<long>(binding.Column, value, rows, rowShape),
            TensorElementType.Int32 => Copy<int>(binding.Column, value, rows, rowShape),
            TensorElementType.Int16 => Copy<short>(binding.Column, value, rows, rowShape),
            TensorElementType.Int8 => Copy<sbyte>(binding.Column, value, rows, rowShape),
            TensorElementType.UInt8 => Copy<byte>(binding.Column, value, rows, rowShape),
            var other => throw new SluiceException($"model output '{binding.ModelOutput}' is {other}; Sluice writes tensors of {string.Join(", ", TensorElements.Supported)}"),
        };
    }

    private static (Field, IArrowArray) Copy<T>(string column, OrtValue value, int rows, int[] rowShape)
        where T : unmanaged
    {
        var source = value.GetTensorDataAsSpan<T>();
        var width = rowShape.Aggregate(1, (a, d) => a * d);
        var sourceWidth = rows == 0 ? 0 : source.Length / rows;
        var flat = new T[rows * width];
        if (sourceWidth == width)
        {
            source.CopyTo(flat);
        }
        else
        {
            for (var row = 0; row < rows; row++)
                source.Slice(row * sourceWidth, sourceWidth).CopyTo(flat.AsSpan(row * width));
        }
        return TensorColumns.Create(column, flat, rows, rowShape);
    }
}
