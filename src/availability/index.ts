// The availability rule engine: schedule rules → slots, schedule refresh
// planning, iCalendar busy-time import and slot confidence. Pure: no
// database, no clock (callers pass `now`).

export * from './types.js';
export { validateScheduleRules, SCHEDULE_LIMITS } from './validate.js';
export { generateSlots } from './slots.js';
export { diffSchedule, type PlanWindow } from './diff.js';
export { parseBusyIntervals, ICS_LIMITS, type ParseBusyOptions } from './ics.js';
export { scoreSlotConfidence, CONFIDENCE_CONSTANTS, type SlotConfidenceInput, type SlotConfidence } from './confidence.js';
