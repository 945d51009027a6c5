//! Three small deterministic tools, for the agent's tests, the tool-use
//! suite (`evals/tool_use.jsonl`) and chapter 25: a weather table, a
//! calculator and a unit converter. Deterministic on purpose: a test of the
//! loop must not depend on the network or the date.

use serde_json::{Value, json};

use crate::agent::ToolFn;
use crate::hermes::{Call, Tool};

/// The three tools, in the order the prompt lists them.
pub fn example_tools() -> Vec<Box<dyn ToolFn>> {
    vec![
        Box::new(Weather),
        Box::new(Calculator),
        Box::new(UnitConverter),
    ]
}

/// Their definitions.
pub fn example_tool_definitions() -> Vec<Tool> {
    example_tools().iter().map(|t| t.definition()).collect()
}

/// One prompt of the tool-use suite and the call it should get (`None`:
/// no tool fits, the model should answer or decline).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ToolCase {
    pub id: String,
    pub prompt: String,
    pub expected: Option<Call>,
}

/// Reads a suite: one JSON object a line; blank lines and `#` comments skipped.
pub fn parse_tool_suite(text: &str) -> Result<Vec<ToolCase>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// A fixed table of cities and their temperature in °C.
pub struct Weather;

const WEATHER: [(&str, f64, &str); 8] = [
    ("Paris", 18.0, "cloudy"),
    ("London", 14.0, "rain"),
    ("Tokyo", 22.0, "sunny"),
    ("New York", 20.0, "sunny"),
    ("Oslo", 6.0, "snow"),
    ("Cairo", 31.0, "sunny"),
    ("Sydney", 25.0, "windy"),
    ("Berlin", 12.0, "cloudy"),
];

impl ToolFn for Weather {
    fn definition(&self) -> Tool {
        Tool::function(
            "get_weather",
            "Get the current weather in a city.",
            json!({"type": "object", "properties": {
                "city": {"type": "string", "description": "The city name, e.g. Paris"},
                "unit": {"enum": ["celsius", "fahrenheit"]}},
                "required": ["city"]}),
        )
    }

    fn call(&self, arguments: &Value) -> Result<Value, String> {
        let city = arguments["city"].as_str().unwrap_or_default();
        let (name, celsius, sky) = WEATHER
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(city.trim()))
            .ok_or_else(|| format!("no weather data for `{city}`"))?;
        let (temperature, unit) = if arguments["unit"] == "fahrenheit" {
            (celsius * 9.0 / 5.0 + 32.0, "fahrenheit")
        } else {
            (*celsius, "celsius")
        };
        Ok(json!({"city": name, "temperature": temperature, "unit": unit, "sky": sky}))
    }
}

/// `a <operation> b`.
pub struct Calculator;

impl ToolFn for Calculator {
    fn definition(&self) -> Tool {
        Tool::function(
            "calculator",
            "Compute a op b for two numbers.",
            json!({"type": "object", "properties": {
                "operation": {"enum": ["add", "subtract", "multiply", "divide"]},
                "a": {"type": "number"},
                "b": {"type": "number"}},
                "required": ["operation", "a", "b"]}),
        )
    }

    fn call(&self, arguments: &Value) -> Result<Value, String> {
        let a = arguments["a"].as_f64().unwrap_or(f64::NAN);
        let b = arguments["b"].as_f64().unwrap_or(f64::NAN);
        let r = match arguments["operation"].as_str() {
            Some("add") => a + b,
            Some("subtract") => a - b,
            Some("multiply") => a * b,
            Some("divide") if b == 0.0 => return Err("division by zero".into()),
            Some("divide") => a / b,
            other => return Err(format!("unknown operation {other:?}")),
        };
        Ok(json!(r))
    }
}

/// Length, mass and temperature units.
pub struct UnitConverter;

/// Units, their kind, and (scale, offset) to the kind's base unit.
const UNITS: [(&str, &str, f64, f64); 8] = [
    ("meters", "length", 1.0, 0.0),
    ("kilometers", "length", 1000.0, 0.0),
    ("miles", "length", 1609.344, 0.0),
    ("feet", "length", 0.3048, 0.0),
    ("kilograms", "mass", 1.0, 0.0),
    ("pounds", "mass", 0.453_592_37, 0.0),
    ("celsius", "temperature", 1.0, 0.0),
    ("fahrenheit", "temperature", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
];

impl ToolFn for UnitConverter {
    fn definition(&self) -> Tool {
        let units: Vec<&str> = UNITS.iter().map(|u| u.0).collect();
        Tool::function(
            "convert_units",
            "Convert a value from one unit to another.",
            json!({"type": "object", "properties": {
                "value": {"type": "number"},
                "from_unit": {"enum": units},
                "to_unit": {"enum": units}},
                "required": ["value", "from_unit", "to_unit"]}),
        )
    }

    fn call(&self, arguments: &Value) -> Result<Value, String> {
        let unit = |key: &str| {
            let name = arguments[key].as_str().unwrap_or_default();
            UNITS
                .iter()
                .find(|u| u.0 == name)
                .ok_or_else(|| format!("unknown unit `{name}`"))
        };
        let (from, to) = (unit("from_unit")?, unit("to_unit")?);
        if from.1 != to.1 {
            return Err(format!("cannot convert {} to {}", from.1, to.1));
        }
        let value = arguments["value"].as_f64().unwrap_or(f64::NAN);
        let base = value * from.2 + from.3;
        Ok(json!((base - to.3) / to.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_compute_what_they_say() {
        let c = |args: Value| Calculator.call(&args);
        assert_eq!(
            c(json!({"operation": "divide", "a": 1, "b": 4})),
            Ok(json!(0.25))
        );
        assert!(c(json!({"operation": "divide", "a": 1, "b": 0})).is_err());
        let u = |args: Value| UnitConverter.call(&args).map(|v| v.as_f64().unwrap());
        let f = u(json!({"value": 100, "from_unit": "celsius", "to_unit": "fahrenheit"}));
        assert!((f.unwrap() - 212.0).abs() < 1e-9);
        let km = u(json!({"value": 1, "from_unit": "miles", "to_unit": "kilometers"}));
        assert!((km.unwrap() - 1.609344).abs() < 1e-12);
        assert!(u(json!({"value": 1, "from_unit": "miles", "to_unit": "pounds"})).is_err());
        let w = Weather
            .call(&json!({"city": "oslo", "unit": "fahrenheit"}))
            .unwrap();
        assert_eq!(w["temperature"], json!(42.8));
        assert!(Weather.call(&json!({"city": "Atlantis"})).is_err());
    }
}
