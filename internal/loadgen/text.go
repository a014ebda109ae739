package loadgen

// The text banks the generator draws from. Reports are written the way reporting organisations
// write them: a short French or English account first, then, in long reports, timelines, asset
// lists and the notices sent to people in other member states.

// scenario is one kind of incident: its cause and breach types, the data it usually touches and
// the first sentences of each free-text field.
type scenario struct {
	titles       []string
	cause        string
	types        []string // the first is always set; the others sometimes
	data         []string // usual data categories; others are added at random
	description  []string
	consequences []string
	taken        []string
	planned      []string
}

var scenarios = []scenario{
	{
		titles:       []string{"Ransomware on the file servers", "Rançongiciel sur les serveurs de fichiers", "Ransomware on the imaging servers"},
		cause:        "malicious_external",
		types:        []string{"availability", "confidentiality", "integrity"},
		data:         []string{"identity", "contact", "health", "national_id"},
		description:  []string{"Files on {system} were encrypted after an attacker obtained VPN access with a stolen account; an archive was exfiltrated before the encryption.", "Les fichiers de {system} ont été chiffrés après une intrusion par un compte VPN compromis ; une archive a été exfiltrée avant le chiffrement."},
		consequences: []string{"Service interrupted for several days; risk of disclosure of the exfiltrated files.", "Interruption du service pendant plusieurs jours ; risque de divulgation des fichiers exfiltrés."},
		taken:        []string{"Network segment isolated, backups verified offline, CERT contacted, complaint filed.", "Segment réseau isolé, sauvegardes vérifiées hors ligne, plainte déposée."},
		planned:      []string{"Rebuild from clean backups; monitor leak sites; inform the people concerned once the scope is known."},
	},
	{
		titles:       []string{"Credential stuffing on the customer portal", "Accès frauduleux aux comptes clients par réutilisation de mots de passe"},
		cause:        "malicious_external",
		types:        []string{"confidentiality"},
		data:         []string{"identity", "contact", "credentials", "financial"},
		description:  []string{"Automated logins with leaked passwords succeeded on {n} customer accounts of {system} over two days.", "Des connexions automatisées avec des mots de passe divulgués ailleurs ont abouti sur {n} comptes clients."},
		consequences: []string{"Attackers could read addresses, order history and the last digits of payment cards."},
		taken:        []string{"Affected accounts locked, passwords reset, rate limiting and bot detection enabled."},
		planned:      []string{"Enforce multi-factor authentication for every account by the end of the quarter."},
	},
	{
		titles:       []string{"Phishing of an HR mailbox", "Hameçonnage d'une boîte de messagerie RH"},
		cause:        "malicious_external",
		types:        []string{"confidentiality"},
		data:         []string{"identity", "contact", "financial", "national_id", "official_document"},
		description:  []string{"An employee of the HR department entered her password on a fake login page; the mailbox was read and forwarding rules were added."},
		consequences: []string{"Payslips and copies of identity documents sent by email were exposed."},
		taken:        []string{"Password reset, forwarding rules removed, sessions revoked, mailbox audit log exported."},
		planned:      []string{"Phishing awareness training; conditional access for mailboxes."},
	},
	{
		titles:       []string{"Denial of service on the online services", "Attaque par déni de service sur les téléservices"},
		cause:        "malicious_external",
		types:        []string{"availability"},
		data:         []string{"identity", "contact"},
		description:  []string{"A volumetric attack made {system} unreachable for several hours."},
		consequences: []string{"Users could not file their requests before a statutory deadline."},
		taken:        []string{"Traffic rerouted through the scrubbing service of the hosting provider."},
		planned:      []string{"Extend the deadline for the users affected; permanent DDoS protection."},
	},
	{
		titles:       []string{"Employee consulted records without a need to know", "Consultation de dossiers sans nécessité de service"},
		cause:        "malicious_internal",
		types:        []string{"confidentiality"},
		data:         []string{"identity", "health", "social_benefits", "special_category"},
		description:  []string{"The access log review showed that an employee consulted {n} files of people unrelated to his work on {system}."},
		consequences: []string{"Disclosure of sensitive information to a person without a need to know; risk of pressure on the people concerned."},
		taken:        []string{"Account suspended, disciplinary procedure opened, complaint filed."},
		planned:      []string{"Quarterly review of access logs; alerts on unusual consultations."},
	},
	{
		titles:       []string{"Departing employee copied the customer file", "Copie du fichier clients par un salarié sur le départ"},
		cause:        "malicious_internal",
		types:        []string{"confidentiality"},
		data:         []string{"identity", "contact", "financial"},
		description:  []string{"A sales employee exported the customer file from {system} to a personal cloud storage account before joining a competitor."},
		consequences: []string{"Customers may be solicited by a competitor using their data."},
		taken:        []string{"Formal notice sent, deletion requested and confirmed by a bailiff."},
		planned:      []string{"Data loss prevention rules on exports; review of export rights."},
	},
	{
		titles:       []string{"Email sent to the wrong recipients", "Courriel envoyé avec les destinataires en copie visible"},
		cause:        "accidental_internal",
		types:        []string{"confidentiality"},
		data:         []string{"identity", "contact", "health"},
		description:  []string{"A newsletter about a support programme was sent with {n} recipients in visible copy instead of hidden copy."},
		consequences: []string{"Every recipient can infer that the others take part in the programme."},
		taken:        []string{"Recall attempted, recipients asked to delete the message."},
		planned:      []string{"Mass mailings only through the mailing tool; four-eyes check."},
	},
	{
		titles:       []string{"Storage bucket publicly readable", "Espace de stockage accessible publiquement"},
		cause:        "accidental_internal",
		types:        []string{"confidentiality"},
		data:         []string{"identity", "official_document", "location", "contact"},
		description:  []string{"A storage bucket holding scanned documents of {system} was made public by a deployment script; a security researcher reported it."},
		consequences: []string{"Scanned identity documents could be downloaded by anyone who knew the address."},
		taken:        []string{"Public access blocked, access logs analysed, researcher thanked and asked to delete his copy."},
		planned:      []string{"Account-wide public access block; policy checks in the deployment pipeline."},
	},
	{
		titles:       []string{"Faulty update corrupted records", "Mise à jour défectueuse ayant altéré des dossiers"},
		cause:        "accidental_internal",
		types:        []string{"integrity", "availability"},
		data:         []string{"identity", "social_benefits", "financial"},
		description:  []string{"A software update of {system} overwrote the bank details of {n} records with those of other records."},
		consequences: []string{"Payments may have been sent to the wrong accounts."},
		taken:        []string{"Update rolled back, records restored from the previous night's backup, payments suspended."},
		planned:      []string{"Reconcile every payment issued since the update; add integrity checks."},
	},
	{
		titles:       []string{"Laptop with customer list stolen", "Vol d'un ordinateur portable non chiffré"},
		cause:        "accidental_external",
		types:        []string{"confidentiality"},
		data:         []string{"identity", "contact"},
		description:  []string{"An unencrypted laptop holding an export of {system} was stolen from a car."},
		consequences: []string{"The list could be used for unsolicited contact or fraud."},
		taken:        []string{"Theft reported to the police, remote wipe requested, passwords of the user reset."},
		planned:      []string{"Full-disk encryption on every laptop."},
	},
	{
		titles:       []string{"Parcel of paper files lost by the courier", "Perte d'un colis de dossiers papier par le transporteur"},
		cause:        "accidental_external",
		types:        []string{"confidentiality", "availability"},
		data:         []string{"identity", "health", "national_id", "criminal"},
		description:  []string{"A parcel of {n} paper files sent to the archive provider never arrived; the courier cannot locate it."},
		consequences: []string{"Loss of the only copy of some files; possible disclosure."},
		taken:        []string{"Claim filed with the courier, search of the sorting centre requested."},
		planned:      []string{"Scan files before sending; sealed containers with tracking."},
	},
	{
		titles:       []string{"Data offered for sale on a forum", "Données mises en vente sur un forum"},
		cause:        "unknown",
		types:        []string{"confidentiality"},
		data:         []string{"identity", "contact", "location", "other"},
		description:  []string{"A sample of what appears to be data of {system} was posted on a forum; its origin is still being investigated."},
		consequences: []string{"Risk of phishing campaigns using the leaked data."},
		taken:        []string{"Sample analysed, forum takedown requested, investigation opened with the hosting provider."},
		planned:      []string{"Forensic review of every system holding the dataset."},
	},
}

var systems = []string{"the customer portal", "the HR information system", "the patient record system", "the billing platform",
	"the student enrolment system", "the benefits management application", "the CRM", "the shared drive", "le portail usagers",
	"the imaging archive (PACS)", "the payroll service", "the ticketing system"}

// timeline events of long descriptions: "{ts}: {event}".
var timelineEvents = []string{
	"EDR alert on host {host}: suspicious process spawned by the mail client",
	"first connection of the compromised account from an unknown address",
	"service desk receives a call from a user who cannot open his files",
	"on-call engineer confirms the incident and opens a crisis ticket",
	"outbound transfer of 14 GB to a cloud storage provider observed on the firewall",
	"domain administrator account used outside working hours on {host}",
	"backups of {host} found deleted",
	"crisis unit convened; management, DPO and CISO informed",
	"external incident response provider engaged",
	"first analysis of the logs of {host} shared with the DPO",
	"le DPO est informé et ouvre le registre des violations",
	"scope of the data confirmed on {host}",
}

var takenActions = []string{
	"isolated {host} from the network",
	"reset the passwords of every privileged account",
	"revoked every session token and API key of the affected service",
	"preserved disk images and logs of {host} for the investigation",
	"blocked the attacker's addresses at the firewall",
	"filed a complaint with the police",
	"informed the cyber-insurance provider",
	"restored {host} from a verified backup",
	"ouvert une enquête interne et conservé les journaux",
	"contacted the processor and asked for its incident report",
}

var plannedActions = []string{
	"deploy multi-factor authentication on every remote access",
	"segment the network between offices and data centres",
	"review the contracts of the processors that hold the dataset",
	"run a restoration exercise from offline backups",
	"train every employee on phishing",
	"shorten the retention period of the exported files",
	"commission an external audit of the information system",
	"mettre en place une revue trimestrielle des habilitations",
}

var datasetNames = []string{"customers", "orders", "patients", "employees", "payroll", "applications", "beneficiaries",
	"students", "claims", "appointments", "accounts", "invoices"}

var informedReasons = []string{
	"Scope of the exfiltrated files still being established.",
	"The people concerned will be informed individually by post and email once the list is confirmed.",
	"No high risk for the people concerned: the data were encrypted with a key that was not compromised.",
	"Informing each person would take a disproportionate effort; a public notice is published on the website.",
	"Les personnes concernées ont été informées par courrier individuel.",
}

// letters are the notices sent to the people concerned, quoted in subjects_informed.reason.
var letters = []string{
	"Text of the letter sent: We are writing to inform you that some of your personal data held by our organisation may have been accessed by an unauthorised person. We have contained the incident, informed the supervisory authority and reset the passwords concerned. Please be wary of messages asking for your personal or banking details.",
	"Texte du courrier envoyé : Nous vous informons qu'un incident de sécurité a pu exposer certaines de vos données personnelles. Nous avons pris des mesures pour le contenir et avons informé la CNIL. Soyez vigilant face aux messages vous demandant vos coordonnées bancaires ou vos identifiants.",
	"Public notice on the website: an incident affected some of our systems; the people concerned will receive a letter; a helpline is open on weekdays from 9:00 to 18:00.",
}

// lateSteps are the steps that delayed a late report, listed in late_reason.
var lateSteps = []string{
	"the processor's incident report requested again", "the processor confirmed that our data were in scope",
	"the forensic provider delivered its preliminary findings", "the legal department reviewed the notification duty",
	"le sous-traitant a transmis la liste des personnes concernées", "the scope was confirmed by a second analysis",
}

var lateReasons = []string{
	"The processor informed us only after its own forensic report.",
	"The incident was first thought to be a technical outage; the loss of data was understood only after the analysis.",
	"Le sous-traitant ne nous a prévenus qu'après la fin de son enquête.",
	"The DPO was on leave and the substitute was not named in the procedure, which has since been fixed.",
}

var reporterRoles = []string{"DPO", "CISO", "RSSI", "Legal counsel", "Head of compliance", "Délégué à la protection des données", "IT manager"}

var firstNames = []string{"Camille", "Jeanne", "Paul", "Inès", "Hélène", "Léa", "Thomas", "Nicolas", "Zoé", "Jérôme",
	"Maria", "Jan", "Sofia", "Lukas", "Anna", "Giorgos", "Ewa", "Mehdi"}

var lastNames = []string{"Martin", "Durand", "Lefèvre", "Moreau", "Dubois", "Bernard", "Petit", "Roux", "Fournier",
	"Garnier", "Schmidt", "Rossi", "Kowalska", "Papadopoulos", "García", "Janssens", "Ben Ali"}

// organisation names by sector: {city} is replaced.
var sectorNames = map[string][]string{
	"health":                 {"Centre hospitalier de {city}", "Clinique du Parc {city}", "Laboratoire d'analyses {city}"},
	"social_security":        {"Caisse primaire d'assurance maladie de {city}", "Caisse d'allocations familiales de {city}"},
	"employment":             {"Agence pour l'emploi de {city}", "Intérim {city} SAS"},
	"public_administration":  {"Mairie de {city}", "Conseil départemental de {city}", "Communauté d'agglomération de {city}"},
	"finance":                {"Banque populaire de {city}", "Crédit mutuel {city}", "{city} Payments SA"},
	"insurance":              {"Mutuelle de {city}", "Assurances {city} SA"},
	"energy":                 {"Régie d'électricité de {city}", "{city} Énergie SAS"},
	"transport":              {"Transports urbains de {city}", "Aéroport de {city}"},
	"telecom":                {"{city} Télécom SAS", "Fibre {city} SA"},
	"digital_infrastructure": {"{city} Datacenter SAS", "Hébergement {city} SAS"},
	"education":              {"Université de {city}", "Lycée Jules Ferry de {city}"},
	"retail":                 {"Boulangerie {city} SARL", "Galeries {city} SA", "{city} Mode en ligne SAS"},
	"other":                  {"Association sportive de {city}", "Fondation {city}"},
}

var cities = []string{"Nantes", "Rennes", "Lyon", "Lille", "Bordeaux", "Grenoble", "Dijon", "Orléans", "Brest", "Nîmes", "Metz", "Tours"}

var processorNames = []string{"Tiers Payant Exemple SAS", "Paie Services SAS", "Hébergement Santé SA", "Routage Courrier SARL",
	"CloudOps Europe SAS", "Archives et Documents SA", "Centre d'appels Atlantique SAS"}

// EU and EEA member states (ISO 3166-1 alpha-2: Greece is GR).
var memberStates = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
	"IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO"}

var topLevelDomain = map[string]string{"FR": "fr", "BE": "be", "DE": "de", "IT": "it", "ES": "es", "LU": "lu", "NL": "nl", "GR": "gr", "BG": "bg"}

// notices to the people concerned, as translated for other member states. In Greek and
// Bulgarian almost every character is outside ASCII: escaped as a client that writes
// ASCII-only JSON does (\u03b1), each costs 6 bytes. That is how a report of at most 10,000
// characters per field can approach the 256 KiB body limit.
var notices = []struct{ lang, text string }{
	{"EL", "Σας ενημερώνουμε ότι εντοπίστηκε περιστατικό παραβίασης δεδομένων προσωπικού χαρακτήρα στα συστήματα του οργανισμού μας. Τα δεδομένα που ενδέχεται να επηρεάστηκαν περιλαμβάνουν ονοματεπώνυμο, στοιχεία επικοινωνίας και αριθμούς ταυτότητας. Λάβαμε αμέσως μέτρα για τον περιορισμό του περιστατικού και ενημερώσαμε την αρμόδια εποπτική αρχή. Σας συνιστούμε να αλλάξετε τους κωδικούς πρόσβασης και να είστε ιδιαίτερα προσεκτικοί με μηνύματα που ζητούν τα προσωπικά σας στοιχεία."},
	{"BG", "Уведомяваме Ви, че в системите на нашата организация беше установен инцидент, свързан с нарушение на сигурността на личните данни. Засегнатите данни може да включват имена, данни за контакт и идентификационни номера. Незабавно предприехме мерки за ограничаване на инцидента и уведомихме надзорния орган. Препоръчваме Ви да смените паролите си и да бъдете особено внимателни към съобщения, в които се изискват Вашите лични данни."},
}
