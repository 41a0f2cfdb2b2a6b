// Every string of the console, in English and Spanish. `t(key, vars)` picks the
// current language; {name} in a string is replaced from `vars`.

const STRINGS = {
  en: {
    'app.console': 'Dispatcher console',
    'live.on': 'Live',
    'live.reconnecting': 'Reconnecting…',
    signout: 'Sign out',
    you: 'you',

    'role.dispatcher': 'Dispatcher',
    'role.team_lead': 'Team lead',
    'role.coordinator': 'Coordinator',
    'role.volunteer': 'Volunteer',
    'role.hub': 'Hub',
    'role.unknown': 'Device',
    'who.team': 'team {team}',

    'signin.title': 'Sign in to the console',
    'signin.lead': 'For dispatchers and team leads. Volunteers use the Testigo app on their phone.',
    'signin.tab.credential': 'Device credential',
    'signin.tab.code': 'One-time code',
    'signin.credential': 'Credential',
    'signin.credential.hint': 'The 64-character credential given when this device was enrolled.',
    'signin.code': 'Enrolment code',
    'signin.code.hint': 'A code a coordinator made for a dispatcher or team lead, like ABCD-EFGH-JKMN. It works once.',
    'signin.submit': 'Sign in',
    'signin.working': 'Signing in…',
    'signin.invalid': 'That credential or code is not valid.',
    'signin.role': 'This device cannot sign in to the console. Only dispatchers, team leads and coordinators can.',
    'signin.expired': 'That code has expired. Ask a coordinator for a new one.',
    'signin.used': 'That code was already used.',
    'signin.limited': 'Too many failed attempts. Wait a minute and try again.',
    'signin.session_ended': 'Your session ended. Sign in again.',
    'signin.saved.title': 'Save your console credential',
    'signin.saved.body': 'This browser is now enrolled as a console device. Next time, sign in with this credential. Keep it in your password manager; it is shown only once and gives access to incidents.',
    'signin.saved.copy': 'Copy',
    'signin.saved.copied': 'Copied',
    'signin.saved.confirm': 'I have saved it',
    'signin.saved.continue': 'Continue',

    'list.title': 'Incidents',
    'list.new': 'New incident from a call',
    'list.filter.status': 'Status',
    'list.filter.urgency': 'Urgency',
    'list.filter.all': 'All',
    'list.filter.active': 'Active (not closed)',
    'list.count': '{shown} of {total}',
    'list.empty': 'No incidents yet. They appear here as calls come in.',
    'list.empty.filtered': 'No incident matches these filters.',
    'list.col.urgency': 'Urgency',
    'list.col.place': 'Reported place',
    'list.col.status': 'Status',
    'list.col.team': 'Team',
    'list.col.updated': 'Updated',
    'list.col.caller': 'Caller told',
    'list.caller.yes': 'Yes',
    'list.caller.no': 'Not yet',

    'checklists.title': 'Checklists',
    'checklists.file': 'XLSForm (.xlsx or .csv) or template JSON',
    'checklists.file.hint': 'The hub checks it and keeps it as a draft. Nothing reaches a phone until you publish it.',
    'checklists.import': 'Import',
    'checklists.imported': 'Imported “{title}” ({id}), {questions} questions.',
    'checklists.row': 'row',
    'checklists.col.checklist': 'Checklist',
    'checklists.col.questions': 'Questions',
    'checklists.col.state': 'State',
    'checklists.draft': 'Draft',
    'checklists.published': 'Published',
    'checklists.publish': 'Publish',
    'checklists.published.toast': 'Published: phones receive it with their next sync.',
    'new.title': 'New incident from a call',
    'new.report': 'What the caller reports',
    'new.place': 'Reported place',
    'new.place.hint': 'Address, corner or landmark, as the caller said it.',
    'new.lat': 'Latitude',
    'new.lon': 'Longitude',
    'new.coords.hint': 'Optional, in decimal degrees. With them, the map shows how far each check-in was.',
    'new.when': 'Seen at',
    'new.urgency': 'Urgency',
    'new.description': 'Description',
    'new.description.hint': 'What was seen: vehicles, uniforms, how many people, what they are doing.',
    'new.team': 'Team to send',
    'new.team.none': 'No team yet',
    'new.caller': 'Caller contact',
    'new.caller.private': 'Private. Kept only in the hub’s caller table: never sent to volunteers’ phones, never in an export, a link or a log.',
    'new.caller.name': 'Name or initials',
    'new.caller.phone': 'Phone',
    'new.submit': 'Open incident',
    'new.cancel': 'Cancel',
    'new.opened': 'Incident opened.',
    'new.bad_coords': 'Latitude must be between -90 and 90 and longitude between -180 and 180, or both left empty.',

    'incident.back': 'All incidents',
    'incident.reported': 'Reported {when}',
    'incident.by_call': 'by call',
    'incident.by_field': 'from the field',
    'incident.report': 'Report',
    'incident.description.none': 'No description.',
    'incident.coords': 'Coordinates',
    'incident.coords.none': 'Not given',
    'incident.team': 'Team',
    'incident.team.none': 'None',
    'incident.opened': 'Opened',
    'incident.problems': 'Some records on this incident do not follow the schema and are not shown:',
    'report.edit': 'Correct',
    'report.save': 'Save correction',
    'report.saved': 'Report corrected. Volunteers get it at their next sync.',

    'caller.title': 'Caller contact',
    'caller.private': 'Private to dispatchers. Reading it is recorded.',
    'caller.show': 'Show caller contact',
    'caller.hide': 'Hide',
    'caller.none': 'No caller contact was recorded.',
    'caller.name': 'Name',
    'caller.phone': 'Phone',
    'caller.notified_at': 'Told the result {when}',
    'caller.not_notified': 'Not told the result yet',

    'actions.notify': 'Mark caller notified',
    'actions.notified': 'Caller marked as notified.',
    'actions.close': 'Close incident',
    'actions.close.confirm': 'Close this incident? Volunteers’ phones remove it after the retention period.',
    'actions.close.yes': 'Yes, close it',
    'actions.close.no': 'Keep open',
    'actions.closed': 'Incident closed.',
    'actions.export': 'Export evidence',
    'actions.export.hint': 'A self-checking bundle (the document, every signed change, GeoJSON) that anyone can check with “testigo verify”. Caller contact is never included.',

    'assign.title': 'Assigned',
    'assign.none': 'Nobody is assigned yet.',
    'assign.inactive': 'unassigned',
    'assign.volunteer': 'Volunteer',
    'assign.pick': 'Choose a volunteer',
    'assign.add': 'Assign',
    'assign.remove': 'Unassign',
    'assign.team': 'Team',
    'assign.team.pick': 'Choose a team',
    'assign.team.add': 'Assign team',
    'assign.done': 'Assigned.',
    'assign.removed': 'Unassigned.',
    'assign.enrolled': 'enrolled {when}',

    'det.title': 'Determination',
    'det.none': 'No determination proposed yet.',
    'det.settled': 'Settled: {d}',
    'det.proposals': 'Proposed',
    'det.confirmations': 'Confirmed',
    'det.disputed': 'The proposals disagree. A team lead must confirm one.',
    'det.confirm.title': 'Confirm a determination',
    'det.confirm.choice': 'Determination',
    'det.confirm.confidence': 'Confidence',
    'det.confirm.note': 'Note (optional)',
    'det.confirm.submit': 'Confirm',
    'det.confirm.done': 'Determination confirmed.',
    'det.confirm.only_leads': 'Only a team lead can confirm a determination.',

    'det.verified': 'Verified: enforcement seen',
    'det.not_found': 'Not found',
    'det.inconclusive': 'Inconclusive',
    'confidence.low': 'Low',
    'confidence.medium': 'Medium',
    'confidence.high': 'High',

    'timeline.title': 'Timeline',
    'timeline.empty': 'Nothing recorded yet.',
    'timeline.created': 'Incident opened',
    'timeline.assigned': 'Assigned {who}',
    'timeline.unassigned': 'Unassigned {who}',
    'timeline.check_in': 'Checked in',
    'timeline.check_out': 'Checked out',
    'timeline.distance': '{d} from the reported place',
    'timeline.accuracy': '±{m} m',
    'timeline.mock': 'mock location',
    'timeline.poor': 'poor accuracy',
    'timeline.obs.note': 'Observation',
    'media.photo': 'Photo',
    'media.video': 'Video',
    'media.audio': 'Audio',
    'media.full': 'Open the full photo',
    'media.download': 'Download the original',
    'media.waiting': '(not on the hub yet)',
    'timeline.obs.count': 'Count: {n}',
    'timeline.obs.amendment': 'Correction',
    'event.dispatched': 'Dispatched',
    'event.determination_proposed': 'Proposed: {d}',
    'event.determination_confirmed': 'Confirmed: {d}',
    'event.caller_notified': 'Caller notified',
    'event.report_edited': 'Report corrected',
    'event.closed': 'Closed',
    'event.confidence': 'confidence {c}',

    'map.title': 'Where',
    'map.alt': 'Map of check-ins and observations around the reported place',
    'map.col.n': '#',
    'map.col.what': 'Record',
    'map.col.at': 'Time',
    'map.col.distance': 'Distance',
    'map.col.accuracy': 'Accuracy',
    'map.kind.check_in': 'Check-in',
    'map.kind.check_out': 'Check-out',
    'map.kind.observation': 'Observation',
    'map.empty': 'No located records yet.',
    'accuracy.good': 'good',
    'accuracy.poor': 'poor',
    'accuracy.mocked': 'mock',

    'checklist.title': 'Checklist',
    'checklist.none': 'No checklist answers yet.',
    'checklist.unknown': 'This incident has no checklist this hub knows.',
    'checklist.disagreements': '{n} questions where verifiers disagree',
    'checklist.disagreement': '1 question where verifiers disagree',
    'checklist.agree': 'Verifiers agree on every question answered by more than one.',
    'checklist.question': 'Question',
    'checklist.disagree': 'Disagree',
    'checklist.progress': '{a} of {r} required',
    'checklist.suggests': 'suggests “{d}”',
    'checklist.invalid': 'does not fit the question',

    'status.open': 'Open',
    'status.dispatched': 'Dispatched',
    'status.on_scene': 'On scene',
    'status.proposed': 'Proposed',
    'status.disputed': 'Disputed',
    'status.confirmed': 'Confirmed',
    'status.caller_notified': 'Caller notified',
    'status.closed': 'Closed',

    'urgency.low': 'Low',
    'urgency.normal': 'Normal',
    'urgency.high': 'High',
    'urgency.critical': 'Critical',

    'error.generic': 'Something went wrong: {reason}',
    'error.forbidden': 'Your role cannot do that.',
    'error.not_found': 'This incident does not exist or is not visible to you.',
    'error.network': 'The hub cannot be reached. Changes were not saved.',
  },

  es: {
    'app.console': 'Consola de despacho',
    'live.on': 'En vivo',
    'live.reconnecting': 'Reconectando…',
    signout: 'Cerrar sesión',
    you: 'usted',

    'role.dispatcher': 'Despacho',
    'role.team_lead': 'Líder de equipo',
    'role.coordinator': 'Coordinación',
    'role.volunteer': 'Voluntario/a',
    'role.hub': 'Central',
    'role.unknown': 'Dispositivo',
    'who.team': 'equipo {team}',

    'signin.title': 'Entrar a la consola',
    'signin.lead': 'Para despacho y líderes de equipo. Los voluntarios usan la app Testigo en su teléfono.',
    'signin.tab.credential': 'Credencial del dispositivo',
    'signin.tab.code': 'Código de un solo uso',
    'signin.credential': 'Credencial',
    'signin.credential.hint': 'La credencial de 64 caracteres que se entregó al inscribir este dispositivo.',
    'signin.code': 'Código de inscripción',
    'signin.code.hint': 'Un código que coordinación creó para despacho o líder de equipo, como ABCD-EFGH-JKMN. Sirve una sola vez.',
    'signin.submit': 'Entrar',
    'signin.working': 'Entrando…',
    'signin.invalid': 'Esa credencial o ese código no es válido.',
    'signin.role': 'Este dispositivo no puede entrar a la consola. Solo pueden despacho, líderes de equipo y coordinación.',
    'signin.expired': 'Ese código venció. Pida uno nuevo a coordinación.',
    'signin.used': 'Ese código ya se usó.',
    'signin.limited': 'Demasiados intentos fallidos. Espere un minuto y vuelva a intentarlo.',
    'signin.session_ended': 'Su sesión terminó. Vuelva a entrar.',
    'signin.saved.title': 'Guarde su credencial de consola',
    'signin.saved.body': 'Este navegador quedó inscrito como dispositivo de consola. La próxima vez, entre con esta credencial. Guárdela en su gestor de contraseñas: se muestra una sola vez y da acceso a los incidentes.',
    'signin.saved.copy': 'Copiar',
    'signin.saved.copied': 'Copiada',
    'signin.saved.confirm': 'Ya la guardé',
    'signin.saved.continue': 'Continuar',

    'list.title': 'Incidentes',
    'list.new': 'Nuevo incidente por llamada',
    'list.filter.status': 'Estado',
    'list.filter.urgency': 'Urgencia',
    'list.filter.all': 'Todos',
    'list.filter.active': 'Activos (sin cerrar)',
    'list.count': '{shown} de {total}',
    'list.empty': 'Todavía no hay incidentes. Aparecen aquí a medida que entran las llamadas.',
    'list.empty.filtered': 'Ningún incidente coincide con estos filtros.',
    'list.col.urgency': 'Urgencia',
    'list.col.place': 'Lugar reportado',
    'list.col.status': 'Estado',
    'list.col.team': 'Equipo',
    'list.col.updated': 'Actualizado',
    'list.col.caller': 'Aviso a quien llamó',
    'list.caller.yes': 'Sí',
    'list.caller.no': 'Todavía no',

    'checklists.title': 'Listas de verificación',
    'checklists.file': 'XLSForm (.xlsx o .csv) o plantilla JSON',
    'checklists.file.hint': 'El hub la revisa y la guarda como borrador. No llega a ningún teléfono hasta que la publique.',
    'checklists.import': 'Importar',
    'checklists.imported': 'Se importó «{title}» ({id}), {questions} preguntas.',
    'checklists.row': 'fila',
    'checklists.col.checklist': 'Lista',
    'checklists.col.questions': 'Preguntas',
    'checklists.col.state': 'Estado',
    'checklists.draft': 'Borrador',
    'checklists.published': 'Publicada',
    'checklists.publish': 'Publicar',
    'checklists.published.toast': 'Publicada: los teléfonos la reciben en su próxima sincronización.',
    'new.title': 'Nuevo incidente por llamada',
    'new.report': 'Lo que reporta quien llama',
    'new.place': 'Lugar reportado',
    'new.place.hint': 'Dirección, esquina o punto de referencia, tal como lo dijo quien llamó.',
    'new.lat': 'Latitud',
    'new.lon': 'Longitud',
    'new.coords.hint': 'Opcional, en grados decimales. Con ellas, el mapa muestra a qué distancia se registró cada llegada.',
    'new.when': 'Visto a las',
    'new.urgency': 'Urgencia',
    'new.description': 'Descripción',
    'new.description.hint': 'Lo que se vio: vehículos, uniformes, cuántas personas, qué están haciendo.',
    'new.team': 'Equipo que va',
    'new.team.none': 'Sin equipo por ahora',
    'new.caller': 'Contacto de quien llama',
    'new.caller.private': 'Privado. Se guarda solo en la tabla de llamadas de la central: nunca va a los teléfonos de los voluntarios, ni a una exportación, un enlace o un registro.',
    'new.caller.name': 'Nombre o iniciales',
    'new.caller.phone': 'Teléfono',
    'new.submit': 'Abrir incidente',
    'new.cancel': 'Cancelar',
    'new.opened': 'Incidente abierto.',
    'new.bad_coords': 'La latitud debe estar entre -90 y 90 y la longitud entre -180 y 180, o dejar ambas vacías.',

    'incident.back': 'Todos los incidentes',
    'incident.reported': 'Reportado {when}',
    'incident.by_call': 'por llamada',
    'incident.by_field': 'desde el terreno',
    'incident.report': 'Reporte',
    'incident.description.none': 'Sin descripción.',
    'incident.coords': 'Coordenadas',
    'incident.coords.none': 'No se dieron',
    'incident.team': 'Equipo',
    'incident.team.none': 'Ninguno',
    'incident.opened': 'Abierto',
    'incident.problems': 'Algunos registros de este incidente no siguen el esquema y no se muestran:',
    'report.edit': 'Corregir',
    'report.save': 'Guardar corrección',
    'report.saved': 'Se corrigió el reporte. Los voluntarios lo reciben en su próxima sincronización.',

    'caller.title': 'Contacto de quien llama',
    'caller.private': 'Solo para despacho. Cada consulta queda registrada.',
    'caller.show': 'Ver contacto',
    'caller.hide': 'Ocultar',
    'caller.none': 'No se registró contacto.',
    'caller.name': 'Nombre',
    'caller.phone': 'Teléfono',
    'caller.notified_at': 'Se le avisó el resultado {when}',
    'caller.not_notified': 'Todavía no se le avisó el resultado',

    'actions.notify': 'Marcar aviso a quien llamó',
    'actions.notified': 'Quedó registrado el aviso a quien llamó.',
    'actions.close': 'Cerrar incidente',
    'actions.close.confirm': '¿Cerrar este incidente? Los teléfonos de los voluntarios lo borran al terminar el plazo de retención.',
    'actions.close.yes': 'Sí, cerrarlo',
    'actions.close.no': 'Dejarlo abierto',
    'actions.closed': 'Incidente cerrado.',
    'actions.export': 'Exportar evidencia',
    'actions.export.hint': 'Un paquete que se verifica solo (el documento, cada cambio firmado, GeoJSON) y que cualquiera puede comprobar con «testigo verify». Nunca incluye el contacto de quien llamó.',

    'assign.title': 'Asignados',
    'assign.none': 'Todavía no hay nadie asignado.',
    'assign.inactive': 'ya no asignado',
    'assign.volunteer': 'Voluntario/a',
    'assign.pick': 'Elija a un voluntario',
    'assign.add': 'Asignar',
    'assign.remove': 'Quitar',
    'assign.team': 'Equipo',
    'assign.team.pick': 'Elija un equipo',
    'assign.team.add': 'Asignar equipo',
    'assign.done': 'Asignado.',
    'assign.removed': 'Se quitó la asignación.',
    'assign.enrolled': 'inscrito {when}',

    'det.title': 'Determinación',
    'det.none': 'Todavía nadie propuso una determinación.',
    'det.settled': 'Resuelto: {d}',
    'det.proposals': 'Propuestas',
    'det.confirmations': 'Confirmaciones',
    'det.disputed': 'Las propuestas no coinciden. Un líder de equipo debe confirmar una.',
    'det.confirm.title': 'Confirmar una determinación',
    'det.confirm.choice': 'Determinación',
    'det.confirm.confidence': 'Confianza',
    'det.confirm.note': 'Nota (opcional)',
    'det.confirm.submit': 'Confirmar',
    'det.confirm.done': 'Determinación confirmada.',
    'det.confirm.only_leads': 'Solo un líder de equipo puede confirmar una determinación.',

    'det.verified': 'Verificado: hay agentes',
    'det.not_found': 'No se encontró nada',
    'det.inconclusive': 'No concluyente',
    'confidence.low': 'Baja',
    'confidence.medium': 'Media',
    'confidence.high': 'Alta',

    'timeline.title': 'Cronología',
    'timeline.empty': 'Todavía no hay nada registrado.',
    'timeline.created': 'Se abrió el incidente',
    'timeline.assigned': 'Se asignó a {who}',
    'timeline.unassigned': 'Se quitó a {who}',
    'timeline.check_in': 'Llegada registrada',
    'timeline.check_out': 'Salida registrada',
    'timeline.distance': 'a {d} del lugar reportado',
    'timeline.accuracy': '±{m} m',
    'timeline.mock': 'ubicación simulada',
    'timeline.poor': 'poca precisión',
    'timeline.obs.note': 'Observación',
    'media.photo': 'Foto',
    'media.video': 'Video',
    'media.audio': 'Audio',
    'media.full': 'Abrir la foto completa',
    'media.download': 'Descargar el original',
    'media.waiting': '(aún no está en el hub)',
    'timeline.obs.count': 'Conteo: {n}',
    'timeline.obs.amendment': 'Corrección',
    'event.dispatched': 'Asignado',
    'event.determination_proposed': 'Propuso: {d}',
    'event.determination_confirmed': 'Confirmó: {d}',
    'event.caller_notified': 'Se avisó a quien llamó',
    'event.report_edited': 'Se corrigió el reporte',
    'event.closed': 'Cerrado',
    'event.confidence': 'confianza {c}',

    'map.title': 'Dónde',
    'map.alt': 'Mapa de llegadas y observaciones alrededor del lugar reportado',
    'map.col.n': 'N.º',
    'map.col.what': 'Registro',
    'map.col.at': 'Hora',
    'map.col.distance': 'Distancia',
    'map.col.accuracy': 'Precisión',
    'map.kind.check_in': 'Llegada',
    'map.kind.check_out': 'Salida',
    'map.kind.observation': 'Observación',
    'map.empty': 'Todavía no hay registros con ubicación.',
    'accuracy.good': 'buena',
    'accuracy.poor': 'baja',
    'accuracy.mocked': 'simulada',

    'checklist.title': 'Lista de verificación',
    'checklist.none': 'Todavía no hay respuestas.',
    'checklist.unknown': 'Este incidente no tiene una lista de verificación que esta central conozca.',
    'checklist.disagreements': '{n} preguntas en las que los verificadores no coinciden',
    'checklist.disagreement': '1 pregunta en la que los verificadores no coinciden',
    'checklist.agree': 'Los verificadores coinciden en todo lo que respondió más de una persona.',
    'checklist.question': 'Pregunta',
    'checklist.disagree': 'No coinciden',
    'checklist.progress': '{a} de {r} obligatorias',
    'checklist.suggests': 'sugiere «{d}»',
    'checklist.invalid': 'no corresponde a la pregunta',

    'status.open': 'Abierto',
    'status.dispatched': 'Asignado',
    'status.on_scene': 'En el lugar',
    'status.proposed': 'Propuesto',
    'status.disputed': 'En disputa',
    'status.confirmed': 'Confirmado',
    'status.caller_notified': 'Aviso dado',
    'status.closed': 'Cerrado',

    'urgency.low': 'Baja',
    'urgency.normal': 'Normal',
    'urgency.high': 'Alta',
    'urgency.critical': 'Crítica',

    'error.generic': 'Algo salió mal: {reason}',
    'error.forbidden': 'Su rol no permite hacer eso.',
    'error.not_found': 'Este incidente no existe o usted no tiene acceso.',
    'error.network': 'No se puede conectar con la central. No se guardaron los cambios.',
  },
};

export const LANGS = ['en', 'es'];
export const STATUSES = ['open', 'dispatched', 'on_scene', 'proposed', 'disputed', 'confirmed', 'caller_notified', 'closed'];
export const URGENCIES = ['critical', 'high', 'normal', 'low'];
export const DETERMINATIONS = ['verified', 'not_found', 'inconclusive'];
export const CONFIDENCES = ['high', 'medium', 'low'];

const STORAGE_KEY = 'testigo.console.lang';
let current = initial();

function initial() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch {
    // Storage can be disabled; the browser's language decides then.
  }
  return (navigator.language || 'en').toLowerCase().startsWith('es') ? 'es' : 'en';
}

export function lang() {
  return current;
}

export function setLang(value) {
  if (!LANGS.includes(value)) return;
  current = value;
  try {
    localStorage.setItem(STORAGE_KEY, value);
  } catch {
    // Not remembered; still switched for this page.
  }
  document.documentElement.lang = value;
}

export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? `{${name}}`));
}

/** Translates every element marked data-i18n="key" under `root`. */
export function translateStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  document.documentElement.lang = current;
}

function locale() {
  return current === 'es' ? 'es-US' : 'en-US';
}

export function formatTime(ms) {
  if (ms === null || ms === undefined) return '';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
}

export function formatClock(ms) {
  return new Intl.DateTimeFormat(locale(), { hour: 'numeric', minute: '2-digit', second: '2-digit' }).format(new Date(ms));
}

export function formatAgo(ms, now = Date.now()) {
  const seconds = Math.round((ms - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 45) return rtf.format(0, 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}

export function formatDistance(m) {
  if (m === null || m === undefined) return '';
  if (m < 1000) return `${Math.round(m)} m`;
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(m / 1000)} km`;
}

/** Every key has both languages (checked by the browser test). */
export function missingTranslations() {
  const en = Object.keys(STRINGS.en);
  const es = Object.keys(STRINGS.es);
  return [...en.filter((k) => !es.includes(k)), ...es.filter((k) => !en.includes(k))];
}
