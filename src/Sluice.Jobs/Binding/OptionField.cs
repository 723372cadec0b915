using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sluice.Contracts;

namespace Sluice.Jobs.Binding;

/// <summary>
/// One field of an options record as a spec sees it: its snake_case name (or its <c>[JsonPropertyName]</c>), the
/// member it binds, its type and its default — read from the record itself, so each default exists once.
/// </summary>
public sealed record OptionField(string Name, string Member, Type Type, bool Required, object? Default, bool ByteSize, string Summary)
{
    internal ParameterInfo? Parameter { get; init; }

    internal PropertyInfo? Property { get; init; }

    /// <summary>Marked <see cref="JobFileAttribute"/>: a file the processor opens, which a spec may also give as a URL.</summary>
    internal bool JobFile { get; init; }

    private static readonly ConcurrentDictionary<Type, IReadOnlyList<OptionField>> Cache = new();

    /// <summary>The fields of <paramref name="type"/>: its constructor parameters, then its settable properties.</summary>
    public static IReadOnlyList<OptionField> Of(Type type) => Cache.GetOrAdd(type, Discover);

    /// <summary>The spec name of a member: its <c>[JsonPropertyName]</c>, else its name in snake_case.</summary>
    public static string NameOf(MemberInfo member) =>
        member.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Name);

    /// <summary>The constructor a spec binds through: the public one with the most parameters (a record's primary constructor).</summary>
    internal static ConstructorInfo? Constructor(Type type) =>
        type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault();

    private static List<OptionField> Discover(Type type)
    {
        var fields = new List<OptionField>();
        var constructor = Constructor(type);
        var parameters = constructor?.GetParameters() ?? [];
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .ToList();
        var prototype = Prototype(type, parameters);
        foreach (var p in parameters)
        {
            var property = properties.FirstOrDefault(x => string.Equals(x.Name, p.Name, StringComparison.OrdinalIgnoreCase));
            var member = (MemberInfo?)property ?? type;
            var name = property is not null ? NameOf(property) : JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name!);
            fields.Add(new OptionField(name, property?.Name ?? p.Name!, p.ParameterType, !p.HasDefaultValue, p.HasDefaultValue ? p.DefaultValue : null,
                IsByteSize(p) || (property is not null && IsByteSize(property)), Describe(member))
            { Parameter = p, Property = property, JobFile = IsJobFile(p) || (property is not null && IsJobFile(property)) });
        }
        foreach (var property in properties)
        {
            if (parameters.Any(p => string.Equals(p.Name, property.Name, StringComparison.OrdinalIgnoreCase))) continue;
            if (property.SetMethod is not { IsPublic: true }) continue;
            fields.Add(new OptionField(NameOf(property), property.Name, property.PropertyType, false,
                prototype is null ? null : property.GetValue(prototype), IsByteSize(property), Describe(property))
            { Property = property, JobFile = IsJobFile(property) });
        }
        return fields;
    }

    /// <summary>An instance built with every constructor parameter at its default (or empty), to read the properties' defaults off.</summary>
    private static object? Prototype(Type type, ParameterInfo[] parameters)
    {
        try
        {
            if (parameters.Length == 0) return Activator.CreateInstance(type);
            var args = parameters.Select(p => p.HasDefaultValue ? p.DefaultValue : Empty(p.ParameterType)).ToArray();
            return Constructor(type)!.Invoke(args);
        }
        catch (TargetInvocationException)
        {
            return null;
        }
    }

    private static object? Empty(Type type) => type == typeof(string) ? "" : type.IsValueType ? Activator.CreateInstance(type) : null;

    private static bool IsByteSize(ICustomAttributeProvider member) => member.IsDefined(typeof(ByteSizeAttribute), inherit: false);

    private static bool IsJobFile(ICustomAttributeProvider member) => member.IsDefined(typeof(JobFileAttribute), inherit: true);

    private static string Describe(MemberInfo member) => member.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>()?.Description ?? "";
}
