using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sluice.Contracts;
using Sluice.IO.ObjectStorage;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs.Binding;

/// <summary>
/// Binds a YAML mapping to an options record generically: each field by its snake_case name, each value
/// converted by the member's type, every default left to the record. Problems become <see cref="SpecError"/>
/// values naming the YAML field, the value given and what is accepted — never a C# member name.
/// </summary>
public static class OptionsBinder
{
    /// <summary>
    /// Binds <paramref name="node"/> to a new <typeparamref name="T"/>, or onto <paramref name="onto"/> (its values
    /// are the defaults). Fields in <paramref name="handledElsewhere"/> belong to the caller and are skipped.
    /// Returns null when a field is wrong (the errors are in <paramref name="context"/>).
    /// </summary>
    public static T? Bind<T>(SpecContext context, YamlMappingNode node, string path, T? onto = null, IReadOnlyCollection<string>? handledElsewhere = null)
        where T : class =>
        (T?)Bind(typeof(T), context, node, path, onto, handledElsewhere);

    public static object? Bind(Type type, SpecContext context, YamlMappingNode node, string path, object? onto = null, IReadOnlyCollection<string>? handledElsewhere = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(node);
        var fields = OptionField.Of(type);
        var before = context.Errors.Count;
        var given = new Dictionary<OptionField, object?>();
        var failed = new HashSet<OptionField>(); // given, but wrong: its own error says so, not "is required" as well
        foreach (var (keyNode, valueNode) in node.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "?";
            if (handledElsewhere?.Contains(key) == true) continue;
            var field = fields.FirstOrDefault(f => f.Name == key);
            if (field is null)
            {
                var accepted = fields.Select(f => f.Name).Concat(handledElsewhere ?? []).Order(StringComparer.Ordinal);
                context.Error(keyNode, SpecContext.Join(path, key), null, $"is not a field here; accepted: {string.Join(", ", accepted)}");
                continue;
            }
            var current = onto is null ? field.Default : Current(field, onto);
            failed.Add(field);
            if (!TryConvert(field.Type, field.ByteSize, valueNode, SpecContext.Join(path, key), context, current, out var value)) continue;
            // A job file given as a URL binds as the local copy the driver fetched, so the op's own checks (the file exists,
            // its size, partitioning beside it) and the shipping to workers see an ordinary file.
            if (field.JobFile && value is string text && ObjectFiles.IsUrl(text))
            {
                value = context.ObjectFile(valueNode, SpecContext.Join(path, key), text);
                if (value is null) continue;
            }
            failed.Remove(field);
            given[field] = value;
        }
        var missing = fields.Where(f => f.Required && onto is null && !given.ContainsKey(f) && !failed.Contains(f)).ToList();
        foreach (var field in missing)
            context.Error(node, SpecContext.Join(path, field.Name), null, $"is required; give {Accepted(field.Type, field.ByteSize)}");
        if (missing.Count > 0 || failed.Any(f => f.Required && onto is null)) return null;
        // Built from the values that did convert, so that the record's own checks report their problems too: every problem at once.
        var result = Construct(type, fields, given, onto);
        if (result is IValidatedOptions validated)
        {
            foreach (var problem in validated.Problems())
                context.Error(At(node, problem.Member, type), SpecPath(type, path, problem.Member), problem.Value, problem.Accepted);
        }
        return context.Errors.Count > before ? null : result;
    }

    /// <summary>The spec path of a member path (<c>Pool.Min</c> → <c>stages[0].pool.min</c>).</summary>
    public static string SpecPath(Type type, string path, string memberPath)
    {
        ArgumentNullException.ThrowIfNull(memberPath);
        foreach (var part in memberPath.Split('.'))
        {
            // A list member names its item: Groups[0] → groups[0], and the next part is a field of the item's type.
            var bracket = part.IndexOf('[', StringComparison.Ordinal);
            var (member, index) = bracket < 0 ? (part, "") : (part[..bracket], part[bracket..]);
            var field = OptionField.Of(type).FirstOrDefault(f => f.Member == member);
            path = SpecContext.Join(path, (field?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(member)) + index);
            if (field is null) break;
            type = Nullable.GetUnderlyingType(field.Type) ?? field.Type;
            if (index.Length > 0 && RecordListElement(type) is { } element) type = element;
        }
        return path;
    }

    private static YamlNode At(YamlMappingNode node, string memberPath, Type type)
    {
        var first = memberPath.Split('.')[0];
        var name = OptionField.Of(type).FirstOrDefault(f => f.Member == first)?.Name;
        return name is not null && SpecContext.Node(node, name) is { } child ? child : node;
    }

    private static object? Current(OptionField field, object onto) =>
        field.Property?.GetValue(onto) ?? (field.Parameter is not null ? onto.GetType().GetProperty(field.Member)?.GetValue(onto) : null);

    private static object Construct(Type type, IReadOnlyList<OptionField> fields, Dictionary<OptionField, object?> given, object? onto)
    {
        var constructor = OptionField.Constructor(type)!;
        var args = constructor.GetParameters().Select(p =>
        {
            var field = fields.First(f => f.Parameter == p);
            return given.TryGetValue(field, out var v) ? v : onto is not null ? Current(field, onto) : field.Default;
        }).ToArray();
        var result = constructor.Invoke(args);
        foreach (var field in fields.Where(f => f.Parameter is null))
        {
            if (given.TryGetValue(field, out var v)) field.Property!.SetValue(result, v);
            else if (onto is not null) field.Property!.SetValue(result, field.Property.GetValue(onto));
        }
        return result;
    }

    /// <summary>What a value of <paramref name="type"/> is written as, for errors and the reference.</summary>
    public static string Accepted(Type type, bool byteSize = false)
    {
        ArgumentNullException.ThrowIfNull(type);
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (byteSize) return "a size such as 512MiB, 2GiB or 1048576";
        if (type == typeof(string)) return "a non-empty text value";
        if (type == typeof(char)) return "one character";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(int) || type == typeof(long)) return "a whole number";
        if (type == typeof(double) || type == typeof(float)) return "a number";
        if (type.IsEnum) return $"one of: {string.Join(", ", EnumNames(type))}";
        if (type == typeof(TimeSpan)) return $"a duration such as {Durations.Examples}";
        if (IsStringMap(type)) return "a mapping of name: value";
        if (IsStringList(type)) return "a list of names";
        if (RecordListElement(type) is { } element) return $"a list of mappings of {string.Join(", ", OptionField.Of(element).Select(f => f.Name))}";
        return $"a mapping of {string.Join(", ", OptionField.Of(type).Select(f => f.Name))}";
    }

    /// <summary>An enum's spec names: each member's <c>[JsonStringEnumMemberName]</c>, else its name in snake_case.</summary>
    public static IReadOnlyList<string> EnumNames(Type type) =>
        [.. Enum.GetNames(ArgumentValidation.NotNull(type)).Select(n => EnumName(type, n))];

    public static string EnumName(Type type, string member) =>
        ArgumentValidation.NotNull(type).GetField(member)!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(member);

    private static bool IsStringMap(Type type) => type == typeof(IReadOnlyDictionary<string, string>) || type == typeof(Dictionary<string, string>);

    private static bool IsStringList(Type type) => type == typeof(IReadOnlyList<string>) || type == typeof(string[]) || type == typeof(List<string>);

    /// <summary>The element type of a list of options records (<c>IReadOnlyList&lt;WorkerGroup&gt;</c>); null for any other type.</summary>
    private static Type? RecordListElement(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) && type.GetGenericArguments()[0] is { IsClass: true } e && e != typeof(string) ? e : null;

    private static bool TryConvert(Type type, bool byteSize, YamlNode node, string path, SpecContext context, object? current, out object? value)
    {
        value = null;
        var inner = Nullable.GetUnderlyingType(type) ?? type;
        if (IsStringMap(inner))
        {
            if (node is not YamlMappingNode map) return Fail(context, node, path, inner, byteSize);
            var dict = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Children)
            {
                if (k is YamlScalarNode { Value: { Length: > 0 } name } && v is YamlScalarNode { Value: { Length: > 0 } text }) dict[name] = text;
                else context.Error(k, path, null, "each entry must be `name: value` with non-empty text on both sides");
            }
            value = dict;
            return true;
        }
        if (IsStringList(inner))
        {
            if (node is not YamlSequenceNode seq || seq.Children.Any(c => c is not YamlScalarNode { Value.Length: > 0 })) return Fail(context, node, path, inner, byteSize);
            var list = seq.Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
            value = inner.IsArray ? list.ToArray() : list;
            return true;
        }
        if (RecordListElement(inner) is { } element)
        {
            if (node is not YamlSequenceNode items || items.Children.Any(c => c is not YamlMappingNode)) return Fail(context, node, path, inner, byteSize);
            var list = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            var ok = true;
            for (var i = 0; i < items.Children.Count; i++)
            {
                var item = Bind(element, context, (YamlMappingNode)items.Children[i], $"{path}[{i.ToString(CultureInfo.InvariantCulture)}]");
                ok &= item is not null;
                list.Add(item);
            }
            value = list;
            return ok;
        }
        if (node is YamlMappingNode nested && !inner.IsPrimitive && inner != typeof(string) && !inner.IsEnum)
        {
            value = Bind(inner, context, nested, path, current);
            return value is not null;
        }
        if (node is not YamlScalarNode { Value: { } text2 }) return Fail(context, node, path, inner, byteSize);
        if (TryScalar(inner, byteSize, text2, out value)) return true;
        return Fail(context, node, path, inner, byteSize, text2);
    }

    private static bool Fail(SpecContext context, YamlNode node, string path, Type type, bool byteSize, string? given = null)
    {
        context.Error(node, path, given ?? Describe(node), $"give {Accepted(type, byteSize)}");
        return false;
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode => "a list",
        _ => "a mapping",
    };

    internal static bool TryScalar(Type type, bool byteSize, string text, out object? value)
    {
        value = null;
        if (byteSize && type == typeof(long))
        {
            if (!ByteSizes.TryParse(text, out var bytes) || bytes <= 0) return false;
            value = bytes;
            return true;
        }
        if (type == typeof(TimeSpan))
        {
            var ok = Durations.TryParse(text, out var duration);
            value = duration;
            return ok;
        }
        if (type == typeof(string))
        {
            value = text;
            return text.Length > 0;
        }
        if (type == typeof(char))
        {
            value = text.Length == 1 ? text[0] : null;
            return text.Length == 1;
        }
        if (type == typeof(bool))
        {
            var ok = bool.TryParse(text, out var b);
            value = b;
            return ok;
        }
        if (type == typeof(int))
        {
            var ok = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n);
            value = n;
            return ok;
        }
        if (type == typeof(long))
        {
            var ok = long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n);
            value = n;
            return ok;
        }
        if (type == typeof(double))
        {
            var ok = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d);
            value = d;
            return ok;
        }
        if (type.IsEnum)
        {
            var member = Enum.GetNames(type).FirstOrDefault(n => EnumName(type, n) == text);
            value = member is null ? null : Enum.Parse(type, member);
            return member is not null;
        }
        return false;
    }
}
